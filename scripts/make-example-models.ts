/**
 * Writes examples/<name>/network.onnx and input.json for every example model.
 * Usage: node dist/scripts/make-example-models.js [outDir]   (default: examples/)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EXAMPLES } from './example-models.js';

export function writeExamples(outDir: string): void {
  for (const ex of EXAMPLES) {
    const dir = join(outDir, ex.name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'network.onnx'), ex.model());
    writeFileSync(join(dir, 'input.json'), `${JSON.stringify({ input_data: ex.inputData() })}\n`);
    console.log(`wrote ${dir}`);
  }
}

// Importing this module (e.g. from a test) must not write files.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeExamples(process.argv[2] ?? 'examples');
}
