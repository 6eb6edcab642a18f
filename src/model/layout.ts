import type { TensorSpec } from '../core/tensor-spec.js';
import type { GraphSettings } from './prepare.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ZkError } from '../core/errors.js';
import type { LayerCost } from '../circuit/emit.js';
import { type CommitmentSpecs, placeSegments, type PublicSegment, publicSignalCount } from '../commit/public.js';
import { readR1csSummary, type R1csSummary } from '../setup/r1cs.js';
import type { ModelVisibility } from '../commit/visibility.js';
import type { ProofSystem } from '../core/snarkjs.js';

/** Where each artifact of a compiled model lives inside its directory. */
export const modelFiles = (dir: string) => ({
  info: join(dir, 'model.json'),
  onnx: join(dir, 'network.onnx'),
  plan: join(dir, 'plan.json'),
  buildDir: join(dir, 'circuit'),
  circom: join(dir, 'circuit', 'main.circom'),
  r1cs: join(dir, 'circuit', 'main.r1cs'),
  wasm: join(dir, 'circuit', 'main_js', 'main.wasm'),
  zkey: join(dir, 'circuit.zkey'),
  vkey: join(dir, 'verification_key.json'),
  /** The calibration samples given at compile time (absent: seeded random ones): audit recompiles with them. */
  calibration: join(dir, 'calibration.json'),
  /** Groth16 phase-2 ceremony: transcript.json and the initial zkey every contribution chains from. */
  ceremonyDir: join(dir, 'ceremony'),
});

export interface TensorInfo extends TensorSpec {
  /** The circom signal that carries it. */
  signal: string;
}

export interface AccuracyReport {
  samples: number;
  /** Largest |quantized − onnxruntime float| over all outputs and samples. */
  maxAbsError: number;
  /** Largest |onnxruntime float output|, to read the error against. */
  maxAbsReference: number;
  /** The error the quantization promises for this model (see README: Accuracy). */
  tolerance: number;
  withinTolerance: boolean;
  /** Largest |quantized − onnxruntime float| per graph output (absent in models compiled before it was kept). */
  perOutput?: { name: string; maxAbsError: number }[];
  /** Where the largest error occurs: output name, flat element index, calibration sample. */
  worst?: { output: string; index: number; sample: number; value: number; reference: number };
  /** When the error exceeds the tolerance: the first node whose output differs from onnxruntime's. */
  divergence?: Divergence;
  /** The compile was told to accept an error above its tolerance (`--accept-error`); proofs say so. */
  accepted?: boolean;
}

/** A node whose quantized output differs from onnxruntime's intermediate value beyond the tolerance. */
export interface Divergence {
  node: string;
  op: string;
  output: string;
  index: number;
  error: number;
  tolerance: number;
  value: number;
  reference: number;
}

/** model.json: everything a prover, verifier or client needs to know about a compiled model. */
export interface ModelInfo {
  format: 'zkinfer-model/1';
  name: string;
  onnxSha256: string;
  scale: number;
  headroomBits: number;
  /** What a proof reveals of the input, the weights and the output. */
  visibility: ModelVisibility;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  layers: LayerCost[];
  /**
   * `layers`: the non-linear constraints emit.ts predicts; `nonLinear`: circom's count of them (equal;
   * absent in models compiled before it was recorded); `r1cs`: all constraints, linear included.
   */
  constraints: { layers: number; nonLinear?: number; r1cs: number };
  publicSignals: number;
  /** What the public signals are, in order. */
  publicLayout: PublicSegment[];
  /** How hashed parts are committed; `weights.value` is the model commitment every proof names. */
  commitments: CommitmentSpecs;
  accuracy: AccuracyReport;
  /** Sizes given to symbolic dims, and graph inputs fixed as constants at compile (absent when none). */
  graphSettings?: { dims?: Record<string, number>; fix?: Record<string, number[]> };
  compileSeconds: number;
  /** What determined the circuit: with the ONNX file, enough to compile it again byte for byte. */
  build?: BuildInfo;
  setup?: SetupInfo;
  /** Who proofs' soundness rests on (src/model/version.ts trustSummary), written with `setup`. */
  trust?: { phase2: Phase2; trusted: string; warning?: string };
}

/** The compile settings that determine main.circom and main.r1cs (see src/model/version.ts). */
export interface CompileSettingsRecord {
  name: string;
  scale: number;
  headroomBits: number;
  visibility: ModelVisibility;
  /** sha256 of calibration.json (canonical JSON of the samples), or null for the seeded random samples. */
  calibrationSha256: string | null;
  circomOptimization: 1 | 2;
  /** Symbolic dim sizes and parameter inputs fixed as constants, when set (`--dim`, `--fix`; src/core/settings.ts). */
  graph?: GraphSettings;
  /** Compiled with an error over the stated tolerance (`--accept-error`). */
  acceptError?: true;
}

export interface BuildInfo {
  settings: CompileSettingsRecord;
  circomSha256: string;
  r1csSha256: string;
}

/**
 * Who made Groth16's phase-2 (circuit-specific) key: `operator` = one contribution by whoever ran
 * setup, who could forge proofs; `ceremony` = contributions from outside (ceremony/transcript.json);
 * `none` = PLONK and FFLONK, whose keys come from the ptau alone.
 */
export type Phase2 = 'operator' | 'ceremony' | 'none';

export interface SetupInfo {
  /** The proof system of circuit.zkey and verification_key.json; proofs and verifiers follow it. */
  system: ProofSystem;
  ptauPower: number;
  /** The smallest power the circuit needs in this system (a ptau of `ptauPower` ≥ it was used). */
  requiredPower?: number;
  /** The public ceremony file the ptau was recognised as (by its published blake2b), if any. */
  ceremonyFile?: string;
  /** True when the keys rest on a locally generated, insecure powers of tau. */
  developmentPtau: boolean;
  vkeyHash: string;
  seconds: number;
  /** Absent in model.json from before ceremonies: groth16 then means `operator`. */
  phase2?: Phase2;
  /** With a ceremony: how many contributions the key has (their names, as the transcript lists them), and whether the beacon closed it. */
  ceremony?: { contributions: number; names?: string[]; finalized: boolean };
  /** The ptau file's name (for the audit to find it). */
  ptauFile?: string;
  /** See src/model/version.ts: which model version a proof comes from. */
  versionId?: string;
}

export function readModelInfo(dir: string): ModelInfo {
  const file = modelFiles(dir).info;
  if (!existsSync(file)) throw new ZkError('ARTIFACT_MISSING', `${dir} is not a compiled model directory (no model.json); run zkinfer compile first`, { dir });
  const info = JSON.parse(readFileSync(file, 'utf8')) as ModelInfo;
  if (!info.publicLayout)
    throw new ZkError('ARTIFACT_MISSING', `${dir} was compiled by an older zkinfer (model.json has no publicLayout); compile it again`, { dir });
  return info;
}

export function requireArtifact(file: string, step: string): string {
  if (!existsSync(file)) throw new ZkError('ARTIFACT_MISSING', `${file} is missing; run zkinfer ${step} first`, { file });
  return file;
}

/**
 * Refuses (COMPILE_FAILED) a compiled circuit that is not the one model.json describes: its public
 * signals must be the layout's, outputs and inputs split as the layout splits them, and its
 * non-linear constraints (A and B both holding a variable) exactly the plan's count. Those are the
 * ways code that reached main.circom without being planned (a model's name smuggled in as
 * statements, say) could change what a proof means: a public signal more publishes a value, a
 * constraint fewer accepts more witnesses, one more restricts them. The plan counts every non-linear
 * constraint circom --O1 keeps (src/circuit/emit.ts, poseidonChainConstraints), so any difference is
 * code that was not planned. Model strings never reach main.circom as code in the first place
 * (src/circuit/text.ts commentText). Linear constraints are not counted: circom keeps or substitutes
 * them by its own rules. Resolves to the r1cs's sizes (one pass over it), which setup sizes the ptau with.
 */
export async function checkCircuit(info: Pick<ModelInfo, 'publicLayout' | 'constraints'>, r1csPath: string): Promise<R1csSummary> {
  const r1cs = await readR1csSummary(r1csPath);
  const outputs = placeSegments(info.publicLayout)
    .filter((s) => s.kind === 'output' || s.kind === 'commitment')
    .reduce((n, s) => n + s.size, 0);
  const expected = publicSignalCount(info.publicLayout);
  let fault: string | undefined;
  if (r1cs.nPublic !== expected || r1cs.nPubOut !== outputs) {
    fault = `${r1cs.nPublic} public signals (${r1cs.nPubOut} outputs), the layout has ${expected} (${outputs} outputs)`;
  } else if (r1cs.nonLinear !== info.constraints.layers) {
    fault = `${r1cs.nonLinear} non-linear constraints, where the plan counts ${info.constraints.layers}`;
  }
  const { nConstraints, nPublic, nPubOut } = r1cs;
  if (fault)
    throw new ZkError('COMPILE_FAILED', `the circuit is not the one model.json describes: it has ${fault}`, { r1cs: { nConstraints, nPublic, nPubOut } });
  return r1cs;
}
