/**
 * How a compiled model reaches prover nodes: the API publishes its artifacts to an ArtifactSource
 * (a shared directory, or an S3-compatible bucket, see s3.ts) and puts their manifest — the sha256
 * of every file a prover reads — in each job. A prover fetches a model on first use into its own
 * cache, checks every file against the job's manifest, and reuses the cache while it matches.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { sha256File } from '../core/hash.js';
import { ZkError } from '../core/errors.js';
import { modelFiles } from '../model/layout.js';
import type { ArtifactSourceConfig } from '../service/config.js';

/** Relative path → its sha256 and size: the files ModelProver.load reads. */
export interface ArtifactManifest {
  files: Record<string, { sha256: string; bytes: number }>;
}

/** The files a prover needs, relative to the model directory. */
export function proverFiles(): string[] {
  const files = modelFiles('.');
  return [files.info, files.plan, files.wasm, files.zkey].map((f) => relative('.', f));
}

export async function manifestOf(dir: string): Promise<ArtifactManifest> {
  const files: ArtifactManifest['files'] = {};
  for (const rel of proverFiles()) {
    const file = join(dir, rel);
    if (!existsSync(file)) throw new ZkError('ARTIFACT_MISSING', `${file} is missing`, { file });
    files[rel] = { sha256: await sha256File(file), bytes: statSync(file).size };
  }
  return { files };
}

export interface ArtifactSource {
  /** API side: makes the model directory `dir` available to provers under `key`. */
  publish(key: string, dir: string, manifest: ArtifactManifest): Promise<void>;
  /** Prover side: copies one file (`rel` inside the model's directory) of `key` to `dest`. */
  download(key: string, rel: string, dest: string): Promise<void>;
}

/**
 * A directory every node mounts (a volume, NFS): the API's own artifact directory by default, in
 * which case publishing is a no-op.
 */
export class DirectorySource implements ArtifactSource {
  constructor(private readonly root: string) {}

  async publish(key: string, dir: string, manifest: ArtifactManifest): Promise<void> {
    const target = join(this.root, key);
    if (resolve(dir) === resolve(target)) return;
    if (existsSync(target) && JSON.stringify(await manifestOf(target).catch(() => undefined)) === JSON.stringify(manifest)) return;
    const tmp = join(this.root, '.publishing', `${key}.${randomUUID()}`);
    // Owner-only, as the API's own copy (src/store/artifacts.ts): a model's files hold its weights.
    await mkdir(tmp, { recursive: true, mode: 0o700 });
    for (const rel of Object.keys(manifest.files)) {
      await mkdir(dirname(join(tmp, rel)), { recursive: true });
      await copyFile(join(dir, rel), join(tmp, rel));
    }
    rmSync(target, { recursive: true, force: true });
    renameSync(tmp, target);
  }

  async download(key: string, rel: string, dest: string): Promise<void> {
    const file = join(this.root, key, rel);
    if (!existsSync(file)) throw new ZkError('ARTIFACT_MISSING', `${file} is not in the shared artifact directory`, { file });
    await copyFile(file, dest);
  }
}

export async function artifactSourceOf(config: ArtifactSourceConfig): Promise<ArtifactSource> {
  if (config.kind === 'directory') return new DirectorySource(config.dir);
  // Loaded only where configured: the S3 client is a large module a directory setup never needs.
  const { S3Source } = await import('./s3.js');
  return new S3Source(config);
}

/** The stamp a verified cache entry holds: the manifest it was checked against. */
const STAMP = '.manifest.json';

/** A prover's local copies of model directories, each checked against a manifest. */
export class ArtifactCache {
  private readonly fetching = new Map<string, Promise<string>>();

  constructor(
    private readonly source: ArtifactSource,
    private readonly root: string,
  ) {}

  /** The local directory of `key`, fetched and checked first unless the cache already matches `manifest`. */
  ensure(key: string, manifest: ArtifactManifest): Promise<string> {
    const dir = join(this.root, key);
    if (this.matches(dir, manifest)) return Promise.resolve(dir);
    let fetching = this.fetching.get(key);
    if (!fetching) {
      fetching = this.fetch(key, manifest, dir).finally(() => this.fetching.delete(key));
      this.fetching.set(key, fetching);
    }
    return fetching;
  }

  private matches(dir: string, manifest: ArtifactManifest): boolean {
    const stamp = join(dir, STAMP);
    return existsSync(stamp) && readFileSync(stamp, 'utf8') === JSON.stringify(manifest);
  }

  /** Downloads into a fresh directory, checks every hash, then renames it into place. */
  private async fetch(key: string, manifest: ArtifactManifest, dir: string): Promise<string> {
    const tmp = join(this.root, '.partial', `${key}.${randomUUID()}`);
    try {
      mkdirSync(tmp, { recursive: true, mode: 0o700 });
      for (const [rel, { sha256 }] of Object.entries(manifest.files)) {
        const file = join(tmp, rel);
        mkdirSync(dirname(file), { recursive: true });
        await this.source.download(key, rel, file);
        const actual = await sha256File(file);
        if (actual !== sha256)
          throw new ZkError('ARTIFACT_MISSING', `${rel} of model artifacts ${key} does not match its manifest (sha256 ${actual}, expected ${sha256})`, {
            key,
            file: rel,
          });
      }
      writeFileSync(join(tmp, STAMP), JSON.stringify(manifest));
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
      return dir;
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
}
