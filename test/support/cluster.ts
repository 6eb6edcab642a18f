/**
 * zkinfer processes (`serve`, `prover`) spawned from the built CLI, each ready once its JSON log
 * says so, and the Redis server the scale-out tests use.
 *
 * Redis comes from ZKINFER_TEST_REDIS_URL (.ci/run starts a loopback redis-server and sets it).
 * Without it, the Redis tests skip with a message saying so — unless CI is set, where they fail:
 * CI must never pass by skipping them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Queue } from 'bullmq';
import { PROOF_QUEUE, redisConnection } from '../../src/cluster/jobs.js';
import { REPO_ROOT } from './env.js';

export function testRedisUrl(): string | undefined {
  const url = process.env.ZKINFER_TEST_REDIS_URL;
  if (!url && process.env.CI) throw new Error('ZKINFER_TEST_REDIS_URL is not set: CI (.ci/run) must start redis-server for the scale-out tests');
  return url;
}

export const NO_REDIS = 'no Redis: set ZKINFER_TEST_REDIS_URL (e.g. redis://127.0.0.1:6390, see .ci/run) to run the scale-out tests';

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
export const killAll = (): void => running.forEach((p) => p.kill('SIGKILL'));

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
