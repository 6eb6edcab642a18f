/** The JSON the API returns for models and proof jobs (the shapes openapi.ts documents). */
import { basename } from 'node:path';
import type { BuildProgress } from '../jobs/compiles.js';
import { DEFAULT_VISIBILITY } from '../commit/visibility.js';
import type { ModelInfo } from '../model/layout.js';
import type { ProofBundle } from '../prove/bundle.js';
import type { JobRecord } from '../store/jobs.js';
import type { ModelRecord } from '../store/models.js';
import { ARTIFACTS, type ArtifactName } from '../service/models.js';

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const tensor = ({ name, dims, dtype, scale }: { name: string; dims: number[]; dtype: string; scale: number }) => ({ name, dims, dtype, scale });

export function modelView(m: ModelRecord, info: ModelInfo | undefined, progress: BuildProgress | undefined) {
  return {
    id: m.id,
    name: m.name,
    version: m.version,
    status: m.status,
    ...(m.status === 'compiling' ? { progress: progress ?? { stage: 'queued', percent: 0 } } : {}),
    ...(m.error ? { error: m.error } : {}),
    onnxSha256: m.onnxSha256,
    settings: {
      scale: m.settings.scale,
      headroomBits: m.settings.headroomBits,
      calibrationSamples: m.settings.samples?.length ?? null,
      ptau: m.settings.ptau ? basename(m.settings.ptau) : 'development',
      visibility: m.settings.visibility ?? DEFAULT_VISIBILITY,
    },
    // Whether the proving artifacts are published (their owner opted in): clients can prove locally.
    clientProving: m.clientProving,
    createdAt: iso(m.createdAt),
    updatedAt: iso(m.updatedAt),
    ...(info
      ? {
          inputs: info.inputs.map(tensor),
          outputs: info.outputs.map(tensor),
          constraints: info.constraints.r1cs,
          publicSignals: info.publicSignals,
          publicLayout: info.publicLayout,
          // The model commitment every proof names (hashed weights), and how to recompute commitments.
          ...(info.commitments.weights ? { modelCommitment: info.commitments.weights.value } : {}),
          commitments: info.commitments,
          quantization: {
            maxAbsError: info.accuracy.maxAbsError,
            tolerance: info.accuracy.tolerance,
            withinTolerance: info.accuracy.withinTolerance,
            samples: info.accuracy.samples,
            ...(info.accuracy.perOutput ? { perOutput: info.accuracy.perOutput } : {}),
          },
          // Constraints per layer (gadget group): what the circuit spends where.
          layers: info.layers.map(({ layer, node, op, constraints }) => ({ layer, node, op, constraints })),
          system: info.setup!.system,
          vkeyHash: info.setup!.vkeyHash,
          // What a client may download: URL by artifact name (the proving ones only with clientProving).
          artifacts: Object.fromEntries(
            (Object.keys(ARTIFACTS) as ArtifactName[]).filter((n) => m.clientProving || !ARTIFACTS[n].proving).map((n) => [n, `/v1/models/${m.id}/artifacts/${n}`]),
          ),
          developmentPtau: info.setup!.developmentPtau,
          ptauPower: info.setup!.ptauPower,
        }
      : {}),
  };
}

/**
 * A proof job as its client sees it: the shareable bundle, and when the model hides its input or
 * output, the opening (private values and salt) beside it, never inside it.
 */
export function jobView(j: JobRecord) {
  const { opening, ...bundle } = j.result ?? ({} as Partial<ProofBundle>);
  return {
    id: j.id,
    model: j.modelId,
    status: j.status,
    attempts: j.attempts,
    ...(j.node ? { node: j.node } : {}),
    createdAt: iso(j.createdAt),
    startedAt: iso(j.startedAt),
    finishedAt: iso(j.finishedAt),
    ...(j.timings ? { timings: j.timings } : {}),
    ...(j.error ? { error: j.error } : {}),
    ...(j.result
      ? {
          output: (opening ?? j.result).outputs.map(({ name, dims, values }) => ({ name, dims, values })),
          proof: bundle.proof,
          publicSignals: bundle.publicSignals,
          ...(bundle.commitments ? { commitments: bundle.commitments } : {}),
          bundle,
          ...(opening ? { opening } : {}),
        }
      : {}),
  };
}
