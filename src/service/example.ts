import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { ModelService } from './models.js';

export const EXAMPLE_NAME = 'tiny_mlp';
/** dist/src/service/ → the repository's examples/tiny_mlp/. */
const EXAMPLE_DIR = fileURLToPath(new URL('../../../examples/tiny_mlp/', import.meta.url));

/**
 * Makes a fresh install serve something: registers the bundled tiny_mlp example unless a model of
 * that name exists (a failed one does not count). Calibration is the compiler's default, seeded
 * random inputs in [-1, 1), which is the range of the example's inputs.
 */
export async function registerExample(models: ModelService, log: Logger): Promise<void> {
  const existing = models.list().find((m) => m.name === EXAMPLE_NAME && m.status !== 'failed');
  if (existing) return void log.info({ model: existing.id, status: existing.status }, `example model ${EXAMPLE_NAME}: ${existing.id}`);
  const onnx = `${EXAMPLE_DIR}network.onnx`;
  if (!existsSync(onnx)) return void log.warn({ file: onnx }, 'the example model is not installed; not registering it');
  const model = await models.upload({ onnx: readFileSync(onnx), name: EXAMPLE_NAME });
  log.info({ model: model.id, input: `${EXAMPLE_DIR}input.json` }, `registered example model ${EXAMPLE_NAME}: ${model.id} (building in the background)`);
}
