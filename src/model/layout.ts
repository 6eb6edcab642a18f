import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ZkError } from '../core/errors.js';
import type { LayerCost } from '../circuit/emit.js';
import type { CommitmentSpecs, PublicSegment } from '../commit/public.js';
import type { ModelVisibility } from '../commit/visibility.js';
import type { DType } from '../onnx/graph.js';
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
});

export interface TensorInfo {
  name: string;
  dims: number[];
  dtype: DType;
  /** Fixed-point scale: the float value is integer / 2^scale. */
  scale: number;
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
  constraints: { layers: number; r1cs: number };
  publicSignals: number;
  /** What the public signals are, in order. */
  publicLayout: PublicSegment[];
  /** How hashed parts are committed; `weights.value` is the model commitment every proof names. */
  commitments: CommitmentSpecs;
  accuracy: AccuracyReport;
  compileSeconds: number;
  setup?: SetupInfo;
}

export interface SetupInfo {
  /** The proof system of circuit.zkey and verification_key.json; proofs and verifiers follow it. */
  system: ProofSystem;
  ptauPower: number;
  /** True when the keys rest on a locally generated, insecure powers of tau. */
  developmentPtau: boolean;
  vkeyHash: string;
  seconds: number;
}

export function readModelInfo(dir: string): ModelInfo {
  const file = modelFiles(dir).info;
  if (!existsSync(file)) throw new ZkError('ARTIFACT_MISSING', `${dir} is not a compiled model directory (no model.json); run zkinfer compile first`, { dir });
  const info = JSON.parse(readFileSync(file, 'utf8')) as ModelInfo;
  if (!info.publicLayout) throw new ZkError('ARTIFACT_MISSING', `${dir} was compiled by an older zkinfer (model.json has no publicLayout); compile it again`, { dir });
  return info;
}

export function requireArtifact(file: string, step: string): string {
  if (!existsSync(file)) throw new ZkError('ARTIFACT_MISSING', `${file} is missing; run zkinfer ${step} first`, { file });
  return file;
}
