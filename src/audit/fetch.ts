/**
 * `zkinfer audit --url BASE --model ID`: downloads what the audit needs from a running service into
 * a temporary model directory: model.json and verification_key.json (GET /v1/models/:id/artifacts/:name),
 * the ceremony transcript, the r1cs, the zkey and the ptau (GET /v1/models/:id/ceremony[/r1cs|zkey|ptau];
 * the service serves the circuit of models whose circuit is public). The ONNX file is not served:
 * the auditor brings it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZkError } from '../core/errors.js';
import { modelFiles } from '../model/layout.js';

export interface DownloadedModel {
  dir: string;
  ptau: string;
  remove(): void;
}

async function get(url: string): Promise<Buffer> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new ZkError('UNAVAILABLE', `GET ${url}: ${(e as Error).message}`);
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
    throw new ZkError(
      res.status === 404 ? 'NOT_FOUND' : res.status === 403 ? 'FORBIDDEN' : 'CONFLICT',
      `GET ${url}: ${res.status} ${body?.error?.message ?? res.statusText}`,
    );
  }
  return Buffer.from(await res.arrayBuffer());
}

/**
 * Downloads model `id` from the service at `base` (e.g. http://localhost:8080) into a fresh temporary
 * directory laid out as a model directory; `remove()` deletes it. HTTP errors become ZkErrors
 * (NOT_FOUND, FORBIDDEN for a private circuit, CONFLICT otherwise, e.g. an unfinalized ceremony).
 */
export async function downloadModel(base: string, id: string): Promise<DownloadedModel> {
  const root = mkdtempSync(join(tmpdir(), 'zkinfer-audit-url-'));
  try {
    const model = `${base.replace(/\/$/, '')}/v1/models/${encodeURIComponent(id)}`;
    const dir = join(root, 'model');
    const files = modelFiles(dir);
    mkdirSync(files.buildDir, { recursive: true });
    for (const [path, file] of [
      ['artifacts/model.json', files.info],
      ['artifacts/verification_key.json', files.vkey],
      ['ceremony/r1cs', files.r1cs],
      ['ceremony/zkey', files.zkey],
    ] as const) {
      writeFileSync(file, await get(`${model}/${path}`));
    }
    const ceremony = JSON.parse((await get(`${model}/ceremony`)).toString('utf8')) as { transcript: unknown; ptau: { file: string } };
    if (ceremony.transcript) {
      mkdirSync(files.ceremonyDir, { recursive: true });
      writeFileSync(join(files.ceremonyDir, 'transcript.json'), `${JSON.stringify(ceremony.transcript, null, 2)}\n`);
    }
    // Kept under its own name: identifyPtau names files it does not recognise by their name.
    const ptau = join(root, ceremony.ptau.file.replace(/[^\w.-]/g, '_'));
    writeFileSync(ptau, await get(`${model}/ceremony/ptau`));
    return { dir, ptau, remove: () => rmSync(root, { recursive: true, force: true }) };
  } catch (e) {
    rmSync(root, { recursive: true, force: true });
    throw e;
  }
}
