/**
 * zkinfer as a library (`import { … } from 'zkinfer'`): the pipeline stages, offline verification,
 * recomputing commitments on the client side, phase-2 ceremonies and the audit.
 */
export { compileModel, quantizeModel, type CompileOptions } from './model/compile.js';
export { mockModel, type MockOptions, type MockResult } from './model/mock.js';
export { prepareWithDocs, type GraphSettings } from './model/prepare.js';
export { runSuite, suiteTable, type SuiteCase } from './conformance/suite.js';
export { setupModel, type SetupOptions } from './model/setup.js';
export { readModelInfo, type ModelInfo } from './model/layout.js';
export { addContribution, finalizeCeremony, initCeremony, readTranscript, verifyCeremony, type Transcript } from './model/ceremony.js';
export { modelVersionId } from './model/version.js';
export { trustSummary, type TrustSummary } from './model/trust.js';
export { contributeZKey } from './setup/ceremony.js';
export { identifyPtau, type PtauIdentity } from './setup/ptau-id.js';
export { auditModel, formatAudit, type AuditReport } from './audit/audit.js';
export { ModelProver } from './prove/prover.js';
export { bundleFromSignals, publicBundle, type ProofBundle, type ProofOpening } from './prove/bundle.js';
export { verifyBundle, parseProofBundle, type Expectations, type Verdict, type VerifyingModel } from './verify/verify.js';
export { loadVerificationKey } from './setup/index.js';
export { inputCommitment, outputCommitment, type CommittingModel } from './commit/open.js';
export { commit, packTensor, poseidonChain, type PackedTensor } from './commit/poseidon.js';
export { parseVisibility, formatVisibility, type ModelVisibility } from './commit/visibility.js';
export { parseInputs } from './io/input.js';
export { ZkError, type ZkErrorCode } from './core/errors.js';
