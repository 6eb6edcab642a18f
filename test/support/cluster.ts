/**
 * zkinfer processes (`serve`, `prover`) spawned from the built CLI, each ready once its JSON log
 * says so, and the Redis server the scale-out tests use.
 *
 * Redis comes from ZKINFER_TEST_REDIS_URL (.ci/run starts a loopback redis-server and sets it), or
 * else from a redis-server the test process starts itself when one is installed. Without either,
 * the Redis tests skip with a message saying so — unless CI is set, where they fail: CI must never
 * pass by skipping them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Queue } from 'bullmq';
import { PROOF_QUEUE, redisConnection } from '../../src/cluster/jobs.js';
import { REPO_ROOT } from './env.js';

export async function testRedisUrl(): Promise<string | undefined> {
  if (process.env.ZKINFER_TEST_REDIS_URL) return process.env.ZKINFER_TEST_REDIS_URL;
  const own = await startLoopbackRedis();
  if (own) {
    // Unreferenced, so it does not keep the test process alive; stopped when that process exits.
    own.proc.unref();
    process.once('exit', () => own.proc.kill());
    return own.url;
  }
  if (process.env.CI) throw new Error('no Redis: CI (.ci/run) must start redis-server for the scale-out tests and set ZKINFER_TEST_REDIS_URL');
  return undefined;
}

export const NO_REDIS = 'no Redis: install redis-server, or set ZKINFER_TEST_REDIS_URL (e.g. redis://127.0.0.1:6390, see .ci/run), to run the scale-out tests';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A throwaway loopback redis-server on a free port (no persistence); undefined when none is installed. */
export async function startLoopbackRedis(): Promise<{ url: string; proc: ChildProcess } | undefined> {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  let failed = false;
  proc.once('error', () => (failed = true));
  for (let i = 0; i < 100 && !failed; i++) {
    const listening = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => (socket.end(), resolve(true))).on('error', () => resolve(false));
    });
    if (listening) return { url: `redis://127.0.0.1:${port}`, proc };
    await sleep(50);
  }
  proc.kill();
  return undefined;
}

/** A BullMQ key prefix of its own, so runs sharing one Redis never see each other's jobs. */
export const uniquePrefix = (name: string): string => `zkinfer-test-${name}-${process.pid}-${Date.now()}`;

/** Deletes every key of a test's queue from Redis. */
export async function dropQueue(url: string, prefix: string): Promise<void> {
  const queue = new Queue(PROOF_QUEUE, { connection: redisConnection(url), prefix });
  await queue.obliterate({ force: true });
  await queue.close();
}

export interface NodeProcess {
  proc: ChildProcess;
  /** The JSON log lines so far. */
  logs: { msg: string; [k: string]: unknown }[];
  /** The log line that said it was ready. */
  ready: { msg: string; [k: string]: unknown };
  exit: Promise<number | null>;
}

const running = new Set<ChildProcess>();

/** Kills (SIGKILL) every node a test file started and has not stopped. */
export const killAll = (): void => {
  const all = [...running];
  running.clear();
  all.forEach((p) => p.kill('SIGKILL'));
};

/**
 * `zkinfer <command>` with `env` over this process's environment; resolves when a log line's msg
 * starts with `readyPrefix`.
 */
export async function startNode(command: 'serve' | 'prover', env: Record<string, string>, readyPrefix: string): Promise<NodeProcess> {
  // A REDIS_URL of the shell running the tests must not turn an embedded service into a Redis one.
  const { REDIS_URL: _, ...inherited } = process.env;
  const proc = spawn(process.execPath, [join(REPO_ROOT, 'dist/src/cli/main.js'), command], {
    env: { ...inherited, ZKINFER_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  running.add(proc);
  // Said on stderr, so a node that dies under a test (not killed by it) shows in the test's output.
  proc.once(
    'exit',
    (code, signal) =>
      running.has(proc) && console.error(`zkinfer ${command} ${env.ZKINFER_NODE_NAME ?? ''} (pid ${proc.pid}) exited: code ${code}, signal ${signal}`),
  );
  // 'close' comes after the exit, once stdout has delivered every line.
  const exit = once(proc, 'close').then(([code]) => (running.delete(proc), code as number | null));
  const logs: NodeProcess['logs'] = [];
  const ready = await new Promise<NodeProcess['ready']>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line);
      logs.push(entry);
      if (entry.msg.startsWith(readyPrefix)) resolve(entry);
    });
    void exit.then((code) => reject(new Error(`zkinfer ${command} exited with ${code} before it was ready`)));
  });
  return { proc, logs, ready, exit };
}

/** The value of the first sample of a Prometheus text exposition matching `line` (0 when absent). */
export const sample = (text: string, line: RegExp): number => Number(line.exec(text)?.[1] ?? 0);
