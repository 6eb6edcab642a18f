/**
 * zkinfer as a library (`import { … } from 'zkinfer'`): the pipeline stages, offline verification,
 * and recomputing commitments on the client side.
 */
export { compileModel, type CompileOptions } from './model/compile.js';
export { setupModel, type SetupOptions } from './model/setup.js';
export { readModelInfo, type ModelInfo } from './model/layout.js';
export { ModelProver } from './prove/prover.js';
export { bundleFromSignals, publicBundle, type ProofBundle, type ProofOpening } from './prove/bundle.js';
export { verifyBundle, parseProofBundle, type Expectations, type Verdict, type VerifyingModel } from './verify/verify.js';
export { loadVerificationKey } from './setup/index.js';
export { inputCommitment, outputCommitment, type CommittingModel } from './commit/open.js';
export { commit, packTensor, poseidonChain, type PackedTensor } from './commit/poseidon.js';
export { parseVisibility, formatVisibility, type ModelVisibility } from './commit/visibility.js';
export { parseInputs } from './io/input.js';
export { ZkError, type ZkErrorCode } from './core/errors.js';
