import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { ZkError } from '../core/errors.js';

const require = createRequire(import.meta.url);
/** The repository's circuits/ directory: dist/src/circuit → ../../../circuits, src/circuit → ../../circuits. */
const circuitsDir = (): string => {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../../circuits', '../../circuits']) {
    const dir = resolve(here, up);
    try {
      readFileSync(join(dir, 'fixedpoint.circom'));
      return dir;
    } catch {
      /* try the next layout */
    }
  }
  throw new ZkError('ARTIFACT_MISSING', 'the circuits/ template library was not found');
};

export interface CompiledCircuit {
  r1csPath: string;
  wasmPath: string;
  symPath: string;
  /** Constraints in the R1CS after circom's simplification. */
  constraints: number;
  /** Of which non-linear (what the per-layer counts of emit.ts predict). */
  nonLinear: number;
  publicSignals: number;
  seconds: number;
  log: string;
}

/**
 * Compiles main.circom with circom2 (circom 2 in WebAssembly) in a child process. circom2 only sees
 * files under its working directory, so the build directory gets its own copy of our templates and
 * of circomlib's circuits, and the compiler runs there with `-l lib`.
 * `optimization` 2 (circom's default) substitutes every linear constraint into the others; 1 keeps
 * linear constraints as they are (see compileModel for why models use 1).
 */
export async function compileCircom(
  buildDir: string,
  code: string,
  opts: { optimization?: 1 | 2; timeoutMs?: number; onProcess?: (pid: number) => void } = {},
): Promise<CompiledCircuit> {
  const lib = join(buildDir, 'lib');
  rmSync(lib, { recursive: true, force: true });
  mkdirSync(join(lib, 'zkinfer'), { recursive: true });
  cpSync(circuitsDir(), join(lib, 'zkinfer'), { recursive: true });
  cpSync(dirname(require.resolve('circomlib/circuits/bitify.circom')), join(lib, 'circomlib', 'circuits'), { recursive: true });
  writeFileSync(join(buildDir, 'main.circom'), code);
  const cli = require.resolve('circom2/cli.js');
  // The witness calculator as text, then WABT's conversion (wat2wasm.ts): circom2's own ran out of
  // its 32-bit memory on LeNet-5 (a 126 MB text).
  const args = [cli, 'main.circom', '--r1cs', '--wat', '--sym', `--O${opts.optimization ?? 2}`, '-l', 'lib', '-o', '.'];
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? 30 * 60_000;
  const log = await run(process.execPath, args, buildDir, timeoutMs, opts.onProcess);
  const wat = join(buildDir, 'main_js', 'main.wat');
  // Paths relative to the child's working directory, the build directory (a relative --out broke).
  await run(
    process.execPath,
    [fileURLToPath(new URL('./wat2wasm.js', import.meta.url)), join('main_js', 'main.wat'), join('main_js', 'main.wasm')],
    buildDir,
    timeoutMs,
    opts.onProcess,
    'wat2wasm',
  );
  rmSync(wat);
  const nonLinear = Number(/non-linear constraints: (\d+)/.exec(log)?.[1] ?? NaN);
  const constraints = nonLinear + Number(/linear constraints: (\d+)/.exec(log.replace(/non-linear constraints: \d+/, ''))?.[1] ?? 0);
  const publicSignals = Number(/public inputs: (\d+)/.exec(log)?.[1] ?? 0) + Number(/public outputs: (\d+)/.exec(log)?.[1] ?? 0);
  return {
    r1csPath: join(buildDir, 'main.r1cs'),
    wasmPath: join(buildDir, 'main_js', 'main.wasm'),
    symPath: join(buildDir, 'main.sym'),
    constraints,
    nonLinear,
    publicSignals,
    seconds: (Date.now() - started) / 1000,
    log,
  };
}

function run(cmd: string, args: string[], cwd: string, timeoutMs: number, onProcess?: (pid: number) => void, what = 'circom2'): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    if (child.pid !== undefined) onProcess?.(child.pid);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => reject(new ZkError('COMPILE_FAILED', `could not start ${what}: ${e.message}`)));
    child.on('close', (code) => {
      clearTimeout(timer);
      out = stripVTControlCharacters(out);
      if (code === 0 && !/error\[/i.test(out)) resolvePromise(out);
      else reject(new ZkError('COMPILE_FAILED', `${what} failed (exit ${code}):\n${out.slice(-4000)}`));
    });
  });
}
