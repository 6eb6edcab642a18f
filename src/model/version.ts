/**
 * A model's identity: the version id answers "which model version produced this output"; it changes
 * with the ONNX file, any compile setting, the circuit and the keys. (Who a verifier must trust for
 * it: trust.ts.)
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../setup/keys.js';
import type { BuildInfo } from './layout.js';

/**
 * sha256 (hex) of the canonical JSON of { onnxSha256, settings, r1csSha256, vkeyHash }: the ONNX
 * file, the compile settings (model.json `build.settings`), the circuit and the verifying key.
 */
export const modelVersionId = (onnxSha256: string, build: BuildInfo, vkeyHash: string): string =>
  createHash('sha256')
    .update(canonicalJson({ onnxSha256, settings: build.settings, r1csSha256: build.r1csSha256, vkeyHash }))
    .digest('hex');
