/**
 * Content-addressed model artifacts: `artifacts/<key>/` is a compiled model directory (see
 * src/model/layout.ts) whose key hashes everything that determines it — the ONNX bytes, the name
 * and the compile settings. Identical uploads share one directory and one compile. A build happens
 * in `artifacts/.building/<key>.<uuid>/` and is renamed into place when complete, so a directory
 * under its key is always whole, and a build cut short (even one whose circom child outlives a
 * crashed service) never touches it. The upload waits in `uploads/<key>.onnx` until its build
 * ends, so a restart can build it again. Directories are created 0700: a model's files can hold
 * private weights.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { modelFiles, readModelInfo, type ModelInfo } from '../model/layout.js';
import { canonicalJson } from '../setup/index.js';
import { guarded } from './faults.js';
import type { CompileSettings } from './models.js';

export class ArtifactStore {
  constructor(private readonly dataDir: string) {}

  static key(onnxSha256: string, name: string, settings: CompileSettings): string {
    return createHash('sha256').update(canonicalJson({ onnxSha256, name, settings })).digest('hex');
  }

  dir(key: string): string {
    return join(this.dataDir, 'artifacts', key);
  }

  /**
   * A fresh directory for one build of `key`, made 0700 with its parents: it becomes the model's
   * directory (renamed into place), so the model's files stay owner-only wherever it is copied.
   */
  buildDir(key: string): string {
    const dir = join(this.dataDir, 'artifacts', '.building', `${key}.${randomUUID()}`);
    guarded(() => mkdirSync(dir, { recursive: true, mode: 0o700 }));
    return dir;
  }

  /**
   * Removes what a previous process left half-written: build directories and the temp files of
   * uploads it was saving. Call before starting builds, holding the data directory's lock.
   */
  sweepBuilds(): void {
    rmSync(join(this.dataDir, 'artifacts', '.building'), { recursive: true, force: true });
    const uploads = join(this.dataDir, 'uploads');
    if (!existsSync(uploads)) return;
    for (const name of readdirSync(uploads)) if (name.endsWith('.tmp')) rmSync(join(uploads, name), { force: true });
  }

  uploadPath(key: string): string {
    return join(this.dataDir, 'uploads', `${key}.onnx`);
  }

  /**
   * Written under a temp name and renamed, so a crash never leaves a partial upload; a write that
   * fails (disk full) removes its temp file and is STORAGE_FAILED.
   */
  saveUpload(key: string, onnx: Uint8Array): void {
    const file = this.uploadPath(key);
    const tmp = `${file}.${randomUUID()}.tmp`;
    guarded(() => {
      try {
        mkdirSync(join(this.dataDir, 'uploads'), { recursive: true, mode: 0o700 });
        writeFileSync(tmp, onnx, { mode: 0o600 });
        renameSync(tmp, file);
      } catch (e) {
        rmSync(tmp, { force: true });
        throw e;
      }
    });
  }

  dropUpload(key: string): void {
    rmSync(this.uploadPath(key), { force: true });
  }

  /** The model's info once compile and setup both finished, else undefined. */
  readyInfo(key: string): ModelInfo | undefined {
    const files = modelFiles(this.dir(key));
    if (![files.info, files.zkey, files.vkey, files.wasm].every(existsSync)) return undefined;
    const info = readModelInfo(this.dir(key));
    return info.setup ? info : undefined;
  }

  remove(key: string): void {
    rmSync(this.dir(key), { recursive: true, force: true });
    this.dropUpload(key);
  }
}
