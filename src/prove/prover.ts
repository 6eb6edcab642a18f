/**
 * Proving from a compiled model directory: reads its artifacts and hands them to the one prover
 * (src/prove/engine.ts), which the client library runs on downloaded artifacts.
 */
import { readFileSync } from 'node:fs';
import { ZkError } from '../core/errors.js';
import { requireFinalKey } from '../model/trust.js';
import { modelFiles, readModelInfo, requireArtifact } from '../model/layout.js';
import { planFromJson } from '../quantize/serialize.js';
import { CircuitProver } from './engine.js';

export class ModelProver extends CircuitProver {
  /** The prover of a set-up model directory; ARTIFACT_MISSING when it was not compiled or set up. */
  static async load(dir: string): Promise<ModelProver> {
    const info = readModelInfo(dir);
    const files = modelFiles(dir);
    if (!info.setup) throw new ZkError('ARTIFACT_MISSING', `${dir} has no keys; run zkinfer setup first`, { dir });
    requireFinalKey(info);
    return ModelProver.fromArtifacts({
      info,
      plan: planFromJson(readFileSync(requireArtifact(files.plan, 'compile'), 'utf8')),
      wasm: readFileSync(requireArtifact(files.wasm, 'compile')),
      zkey: readFileSync(requireArtifact(files.zkey, 'setup')),
    });
  }
}
