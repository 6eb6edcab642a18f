import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/…). */
export const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');

/**
 * The data directory the suite shares: global-setup.ts wipes it and generates the development ptau
 * there once per `npm test`, so each test file can set up keys without waiting for a ptau.
 */
export const TEST_DATA_DIR = join(REPO_ROOT, '.test-cache');

/** The largest ptau power the suite prepares; every test circuit must fit it. */
export const TEST_PTAU_POWER = 12;

export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), `zkinfer-${prefix}-`));

export const CORPUS = resolve(REPO_ROOT, '..', 'shared', 'conformance', 'ezkl');

/** Models from users' reports (see its README): the fidelity tests' real exports. */
export const CASES = resolve(REPO_ROOT, '..', 'shared', 'cases');

/** ONNX's operator suite (one op per model, with output_data from the ONNX reference). */
export const ONNX_NODE = resolve(REPO_ROOT, '..', 'shared', 'onnx-node');
