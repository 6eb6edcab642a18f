/** The JSON the API returns for models and proof jobs (the shapes openapi.ts documents). */
import type { TensorSpec } from '../core/tensor-spec.js';
import { basename } from 'node:path';
import type { BuildProgress } from '../jobs/compiles.js';
import { DEFAULT_VISIBILITY } from '../commit/visibility.js';
import type { ModelInfo } from '../model/layout.js';
import { clientError } from './errors.js';
import { trustSummary } from '../model/trust.js';
import { ceremonyFileFor } from '../setup/ptau-files.js';
import type { ProofBundle } from '../prove/bundle.js';
import type { JobRecord } from '../store/jobs.js';
import type { ModelRecord } from '../store/models.js';
import { ARTIFACTS, type ArtifactName } from '../service/models.js';

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const tensor = ({ name, dims, dtype, scale }: TensorSpec): TensorSpec => ({ name, dims, dtype, scale });

function publicPtau(power: number) {
  const c = ceremonyFileFor(power);
  return {
    requiredPtauPower: power,
    ...(c ? { publicPtau: { file: c.file, power: c.power, url: c.url, blake2b: c.blake2b, approxBytes: c.approxBytes } } : {}),
  };
}

export function modelView(m: ModelRecord, info: ModelInfo | undefined, progress: BuildProgress | undefined) {
  return {
    id: m.id,
    name: m.name,
    version: m.version,
    status: m.status,
    ...(m.status === 'compiling' ? { progress: progress ?? { stage: 'queued', percent: 0 } } : {}),
    ...(m.error ? { error: clientError(m.error) } : {}),
    onnxSha256: m.onnxSha256,
    settings: {
      // The scale asked for, else the one calibration chose once compiled (null until then).
      scale: m.settings.scale ?? info?.scale ?? null,
      headroomBits: m.settings.headroomBits,
      calibrationSamples: m.settings.samples?.length ?? null,
      ptau: m.settings.ptau ? basename(m.settings.ptau) : 'development',
      visibility: m.settings.visibility ?? DEFAULT_VISIBILITY,
      ceremony: m.settings.ceremonyOwner ? 'open' : 'none',
      system: m.settings.system ?? 'groth16',
      ...(m.settings.graph?.fix && Object.keys(m.settings.graph.fix).length ? { fix: m.settings.graph.fix } : {}),
      ...(m.settings.acceptError ? { acceptError: true } : {}),
    },
    // Whether the proving artifacts are published (their owner opted in): clients can prove locally.
    clientProving: m.clientProving,
    createdAt: iso(m.createdAt),
    updatedAt: iso(m.updatedAt),
    ...(info
      ? {
          // Symbolic dims and the sizes they were compiled at.
          ...(info.graphSettings?.dims ? { dims: info.graphSettings.dims } : {}),
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
            ...(info.accuracy.accepted ? { accepted: true } : {}),
            ...(info.accuracy.worst ? { worst: info.accuracy.worst } : {}),
            ...(info.accuracy.perOutput ? { perOutput: info.accuracy.perOutput } : {}),
          },
          // Constraints per layer (gadget group): what the circuit spends where.
          layers: info.layers.map(({ layer, node, op, constraints }) => ({ layer, node, op, constraints })),
          system: info.setup!.system,
          vkeyHash: info.setup!.vkeyHash,
          // What a client may download: URL by artifact name (the proving ones only with clientProving).
          artifacts: Object.fromEntries(
            (Object.keys(ARTIFACTS) as ArtifactName[])
              .filter((n) => m.clientProving || !ARTIFACTS[n].proving)
              .map((n) => [n, `/v1/models/${m.id}/artifacts/${n}`]),
          ),
          developmentPtau: info.setup!.developmentPtau,
          ptauPower: info.setup!.ptauPower,
          // Which model version a proof comes from, and whose honesty its soundness rests on.
          ...(info.setup!.versionId ? { versionId: info.setup!.versionId } : {}),
          trust: trustSummary(info),
          ...(info.setup!.ceremony ? { ceremony: { ...info.setup!.ceremony, transcript: `/v1/models/${m.id}/ceremony` } } : {}),
          // The public ceremony file that would serve this model (any larger one does too).
          ...publicPtau(info.setup!.requiredPower ?? info.setup!.ptauPower),
          ...(info.setup!.ceremonyFile ? { ceremonyFile: info.setup!.ceremonyFile } : {}),
        }
      : {}),
  };
}

/**
 * A proof job as its client sees it: the shareable bundle, and when the model hides its input or
 * output, the opening (private values and salt) beside it, never inside it. `output` is there from
 * the start: the quantized model's output computed when the request was checked (`proven: false`),
 * then the proof's (`proven: true`); `accuracy` compares it with onnxruntime's float output.
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
    ...(j.purgedAt ? { purgedAt: iso(j.purgedAt) } : {}),
    ...(j.timings ? { timings: j.timings } : {}),
    ...(j.error ? { error: clientError(j.error) } : {}),
    ...(j.result || j.preview ? { proven: j.result !== undefined } : {}),
    ...(j.preview && !j.result ? { output: j.preview.output } : {}),
    ...(j.preview ? { accuracy: j.preview.accuracy } : {}),
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
