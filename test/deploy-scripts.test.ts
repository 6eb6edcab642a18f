/**
 * The image's build and start steps outside Docker (no Docker engine runs here, nor in CI): a copy
 * of the repository built with `deploy/build.sh --production`, as the Dockerfile runs it, then
 * started with `deploy/start.sh serve`, its entrypoint. Slow (a clean `npm ci`, which compiles
 * better-sqlite3 when no prebuilt binary can be downloaded): minutes.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, test } from 'node:test';
import { REPO_ROOT, tempDir } from './support/env.js';

const copy = join(tempDir('image'), 'app');
after(() => rmSync(join(copy, '..'), { recursive: true, force: true }));

/** What the Docker build context holds: the repository without what .dockerignore leaves out. */
const IGNORED = new Set(['node_modules', 'dist', 'data', 'bench', '.test-cache', '.exp', '.git']);

test('deploy/build.sh --production builds a copy of the repository; deploy/start.sh serve runs it', { timeout: 900_000 }, async () => {
  cpSync(REPO_ROOT, copy, { recursive: true, filter: (src) => !IGNORED.has(relative(REPO_ROOT, src).split('/')[0]) && !src.endsWith('.log') });
  const built = spawnSync(join(copy, 'deploy/build.sh'), ['--production'], { encoding: 'utf8', timeout: 840_000 });
  assert.equal(built.status, 0, built.stdout + built.stderr);
  assert.match(built.stdout, /zkinfer built in/);
  assert.doesNotMatch(built.stderr, /npm warn (Unknown|config)/i);
  assert.ok(existsSync(join(copy, 'dist/src/cli/main.js')));
  assert.ok(!existsSync(join(copy, 'node_modules/@ethereumjs/evm')), 'dev dependencies are dropped');

  const data = tempDir('image-data');
  const proc = spawn(join(copy, 'deploy/start.sh'), ['serve'], {
    env: { ...process.env, REDIS_URL: '', PORT: '0', ZKINFER_HOST: '127.0.0.1', ZKINFER_DATA_DIR: data, ZKINFER_EXAMPLE: '0', ZKINFER_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      proc.stdout!.on('data', (d) => {
        out += d;
        const m = /zkinfer listening on (http:\/\/[\d.:]+)/.exec(out);
        if (m) resolve(m[1]);
      });
      proc.once('exit', (code) => reject(new Error(`deploy/start.sh serve exited (${code}):\n${out}`)));
    });
    assert.deepEqual(await (await fetch(`${url}/readyz`)).json(), { status: 'ready', queued: 0 });
    proc.kill('SIGTERM');
    const [code] = await once(proc, 'exit');
    assert.equal(code, 0, 'a drained, clean exit');
  } finally {
    proc.kill('SIGKILL');
    rmSync(data, { recursive: true, force: true });
  }
});
