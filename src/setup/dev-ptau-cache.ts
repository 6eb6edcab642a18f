/**
 * The INSECURE development powers-of-tau files, one per power under the data directory: reused when
 * present, truncated from a larger one, or generated (dev-ptau.ts) on first use, each appearing by
 * rename only. The shared bn128 curve (globalThis.curve_bn128) is never terminated here: whoever
 * owns the process (CLI entry point, worker, test) must end it before exiting.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ZkError } from '../core/errors.js';
import { snarkjs } from '../core/snarkjs.js';
import { inspectPtau } from './ptau-inspect.js';
import { MAX_PTAU_POWER } from './ptau-size.js';
import { collectingLogger } from './snarkjs-logger.js';

type DevSource = 'reused' | 'generated' | `truncated from ${string}`;

/** One generation per file per process: concurrent callers await the same promise. */
const inflight = new Map<string, Promise<DevSource>>();

export function devPtauPath(dataDir: string, power: number): string {
  return path.join(dataDir, 'ptau', `dev-pot${power}.ptau`);
}

/**
 * Returns a phase-2-ready dev ptau of exactly `power`, creating it on first use: truncated from a
 * larger dev ptau when one exists (a prefix copy, seconds), else generated from its secrets
 * (dev-ptau.ts). Files appear by rename only, so a crash or a concurrent process never leaves a
 * partial file in place. `progress` hears the generation's fraction done (0..1) when this call
 * generates; callers joining a generation already under way hear nothing until it ends.
 */
export async function ensureDevPtau(
  dataDir: string,
  power: number,
  log: (msg: string) => void = (msg) => console.error(msg),
  progress?: (fraction: number) => void,
): Promise<string> {
  if (!Number.isInteger(power) || power < 1 || power > MAX_PTAU_POWER) {
    throw new ZkError('INTERNAL', `ptau power must be an integer in 1..${MAX_PTAU_POWER}, got ${power}`);
  }
  const file = path.resolve(devPtauPath(dataDir, power));
  let pending = inflight.get(file);
  if (!pending) {
    pending = obtainDevPtau(file, power, log, progress).finally(() => inflight.delete(file));
    inflight.set(file, pending);
  }
  warnInsecure(log, file, power, await pending);
  return file;
}

function warnInsecure(log: (msg: string) => void, file: string, power: number, source: DevSource): void {
  const bar = '!'.repeat(96);
  log(
    [
      bar,
      `!!! WARNING: INSECURE DEVELOPMENT POWERS-OF-TAU (power ${power}, ${source}): ${file}`,
      '!!! Its toxic waste was produced on THIS machine: whoever had access to it can forge proofs.',
      `!!! FOR DEVELOPMENT ONLY. For real keys bring a public ceremony file of power ${power} or more, such as`,
      `!!! powersOfTau28_hez_final_${String(power).padStart(2, '0')}.ptau of the Hermez Perpetual Powers of Tau (snarkjs' README links them),`,
      '!!! and run `zkinfer setup DIR --ptau FILE --verify-ptau` (the service: ZKINFER_PTAU=FILE).',
      bar,
    ].join('\n'),
  );
}

async function obtainDevPtau(file: string, power: number, log: (msg: string) => void, progress?: (fraction: number) => void): Promise<DevSource> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  if (await isUsableDevPtau(file, power, log)) return 'reused';
  await sweepStaleTemps(dir);
  const larger = await findLargerDevPtau(dir, power);
  if (larger) {
    log(`ptau: truncating ${path.basename(larger)} to power ${power}`);
    await inTempDir(dir, (tmp) => truncateInto(larger, power, tmp, file));
    return `truncated from ${path.basename(larger)}`;
  }
  log(`ptau: generating development ptau of power ${power} (one-time; about a minute at power 16 on 2 cores)`);
  await inTempDir(dir, (tmp) => generateInto(power, tmp, file, progress));
  return 'generated';
}

/** An existing file is trusted only if its header matches; a damaged one is regenerated. */
async function isUsableDevPtau(file: string, power: number, log: (msg: string) => void): Promise<boolean> {
  if (!(await stat(file).catch(() => undefined))) return false;
  try {
    const info = await inspectPtau(file);
    if (info.power === power && info.prepared) return true;
    log(`ptau: ${file} has power ${info.power}${info.prepared ? '' : ', unprepared'}; recreating it`);
  } catch (e) {
    log(`ptau: ${file} is unreadable (${(e as Error).message}); recreating it`);
  }
  return false;
}

/** The smallest prepared dev ptau above `power`: the cheapest source to truncate from. */
async function findLargerDevPtau(dir: string, power: number): Promise<string | undefined> {
  const powers = (await readdir(dir))
    .map((name) => /^dev-pot(\d+)\.ptau$/.exec(name)?.[1])
    .map(Number)
    .filter((p) => p > power)
    .sort((a, b) => a - b);
  for (const p of powers) {
    const candidate = path.join(dir, `dev-pot${p}.ptau`);
    const info = await inspectPtau(candidate).catch(() => undefined);
    if (info?.prepared && info.power === p) return candidate;
  }
  return undefined;
}

/**
 * snarkjs truncate keeps the prefix of every section, which is exactly the smaller ceremony
 * (Lagrange sections are stored per domain size, smallest first). It writes every power below the
 * source's; we keep the one asked for and the temp dir takes the rest away.
 */
async function truncateInto(source: string, power: number, tmp: string, dest: string): Promise<void> {
  const template = path.join(tmp, 'pot');
  await snarkjs.powersOfTau.truncate(source, template, collectingLogger().logger);
  await rename(`${template}${String(power).padStart(2, '0')}.ptau`, dest);
}

/**
 * Computes the prepared file directly from fresh random secrets (dev-ptau.ts: seconds where
 * snarkjs' new + contribute + prepare phase2 takes minutes to hours). Loaded on demand: most
 * commands never generate a ptau.
 */
async function generateInto(power: number, tmp: string, dest: string, progress?: (fraction: number) => void): Promise<void> {
  const { writeDevPtau } = await import('./dev-ptau.js');
  const file = path.join(tmp, 'prepared.ptau');
  await writeDevPtau(file, power, { progress });
  await rename(file, dest);
}

/** Temp dirs live next to the destination so the final rename stays on one filesystem (atomic). */
async function inTempDir(dir: string, work: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = await mkdtemp(path.join(dir, `.tmp-${process.pid}-`));
  try {
    await work(tmp);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** At service start: removes the temp dirs of ptau generations whose process died (see sweepStaleTemps). */
export async function sweepDevPtauTemps(dataDir: string): Promise<void> {
  const dir = path.dirname(devPtauPath(dataDir, 1));
  if (existsSync(dir)) await sweepStaleTemps(dir);
}

/** Removes temp dirs of processes that died mid-generation (the pid is in the name). */
async function sweepStaleTemps(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const pid = Number(/^\.tmp-(\d+)-/.exec(name)?.[1]);
    if (pid && pid !== process.pid && !isAlive(pid)) {
      await rm(path.join(dir, name), { recursive: true, force: true });
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
