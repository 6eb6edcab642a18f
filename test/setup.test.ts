/**
 * Setup stage against real snarkjs and circom2: dev ptau generation/truncation, header inspection,
 * import checks, and Groth16 keys that actually prove and verify.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, open, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ZkError } from '../src/core/errors.js';
import { snarkjs } from '../src/core/snarkjs.js';
import { PROOF_SYSTEM } from '../src/systems/index.js';
import {
  checkPtauFits,
  ensureDevPtau,
  hashVerificationKey,
  importPtau,
  inspectPtau,
  loadVerificationKey,
  readR1csHeader,
  requiredPower,
  setupGroth16,
  setupKeys,
} from '../src/setup/index.js';
import { withBinFile } from '../src/setup/binfile.js';
import { blake2bOfFile, CEREMONY_FILES, ceremonyFileFor, recogniseCeremonyFile } from '../src/setup/ptau-files.js';

const execFileAsync = promisify(execFile);
const circomCli = createRequire(import.meta.url).resolve('circom2/cli.js');

const TINY = `pragma circom 2.0.0;
template T(){ signal input a; signal input b; signal output c; c <== a*b; }
component main = T();
`;
/** 300 multiplications: needs a domain of 2^9, one more than the smallest dev ptau. */
const CHAIN = `pragma circom 2.0.0;
template Chain(n){
  signal input a; signal input b; signal output c; signal x[n];
  x[0] <== a*b;
  for (var i = 1; i < n; i++) { x[i] <== x[i-1]*a; }
  c <== x[n-1];
}
component main = Chain(300);
`;

let tmp: string;
let dataDir: string;
let ptau8: string;
const logs: string[] = [];
const log = (msg: string) => void logs.push(msg);
const warnings = () => logs.filter((m) => m.includes('INSECURE DEVELOPMENT POWERS-OF-TAU'));

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'zk-setup-test-'));
  dataDir = path.join(tmp, 'data');
});

after(async () => {
  // snarkjs keeps worker threads in the shared curve; without this the test process never exits.
  await (globalThis as unknown as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate();
  await rm(tmp, { recursive: true, force: true });
});

async function compileCircom(name: string, source: string): Promise<{ r1cs: string; wasm: string }> {
  const dir = path.join(tmp, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, `${name}.circom`), source);
  // circom2 (WASI) only sees files under its cwd, hence relative paths.
  await execFileAsync(process.execPath, [circomCli, `${name}.circom`, '--r1cs', '--wasm', '-o', '.'], { cwd: dir });
  return { r1cs: path.join(dir, `${name}.r1cs`), wasm: path.join(dir, `${name}_js`, `${name}.wasm`) };
}

async function rejectsWith(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof ZkError, `expected ZkError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.match(e.message, message);
    return true;
  });
}

async function secondsOf<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await work();
  return [value, (performance.now() - start) / 1000];
}

test('requiredPower mirrors snarkjs newZKey (smallest p with 2^p >= n + nPublic + 1, at least 8)', () => {
  assert.equal(requiredPower(1, 1), 8);
  assert.equal(requiredPower(254, 1), 8); // 256 = 2^8 fits exactly
  assert.equal(requiredPower(255, 1), 9);
  assert.equal(requiredPower(1000, 10), 10);
  assert.equal(requiredPower(1013, 10), 10); // 1024
  assert.equal(requiredPower(1014, 10), 11);
  for (let v = 1; v < 5000; v += 7) {
    // snarkjs: cirPower = log2(nConstraints + nPublic) + 1, with integer log2
    const snarkjsPower = Math.floor(Math.log2(v)) + 1;
    assert.equal(requiredPower(v - 1, 1), Math.max(8, snarkjsPower), `v=${v}`);
  }
  assert.throws(() => requiredPower(-1, 0), ZkError);
});

test('ensureDevPtau generates a prepared power-8 ptau once for concurrent callers, warning each', async () => {
  const [[a, b], seconds] = await secondsOf(() => Promise.all([ensureDevPtau(dataDir, 8, log), ensureDevPtau(dataDir, 8, log)]));
  console.log(`power-8 dev ptau generation: ${seconds.toFixed(2)} s`);
  assert.equal(a, b);
  assert.equal(a, path.resolve(dataDir, 'ptau', 'dev-pot8.ptau'));
  assert.equal(logs.filter((m) => m.includes('generating')).length, 1);
  assert.equal(warnings().length, 2);
  ptau8 = a;
  const info = await inspectPtau(ptau8);
  assert.deepEqual(info, { power: 8, prepared: true, contributions: 1, ceremonyPower: 8 });
});

test('the development ptau is byte for byte what snarkjs prepare phase2 makes of its contribution', async () => {
  // prepare phase2 reads sections 1–7 (the powers and the contribution) and recomputes 12–15 by
  // FFTs over curve points; ours computed them from the secrets. Same header, order and encoding.
  const prepared = path.join(tmp, 'reprepared.ptau');
  await snarkjs.powersOfTau.preparePhase2(ptau8, prepared);
  const [ours, theirs] = await Promise.all([readFile(ptau8), readFile(prepared)]);
  assert.equal(ours.length, theirs.length);
  assert.ok(ours.equals(theirs), 'sections differ from snarkjs prepare phase2');
});

test('ensureDevPtau reuses the existing file and still warns', async () => {
  const before = (await stat(ptau8)).mtimeMs;
  logs.length = 0;
  const again = await ensureDevPtau(dataDir, 8, log);
  assert.equal(again, ptau8);
  assert.equal((await stat(ptau8)).mtimeMs, before);
  assert.equal(warnings().length, 1);
  assert.match(warnings()[0], /development only/i);
  assert.equal(logs.filter((m) => m.includes('generating')).length, 0);
});

test('ensureDevPtau reports the progress of a generation, rising to 1', async () => {
  const fractions: number[] = [];
  await ensureDevPtau(
    path.join(tmp, 'data-progress'),
    8,
    () => {},
    (f) => void fractions.push(f),
  );
  assert.ok(fractions.length > 5, `only ${fractions.length} progress reports`);
  assert.ok(
    fractions.every((f, i) => f >= 0 && f <= 1 && (i === 0 || f >= fractions[i - 1])),
    `not rising within 0..1: ${fractions}`,
  );
  assert.ok(Math.abs(fractions.at(-1)! - 1) < 1e-9);
});

test('ensureDevPtau truncates a larger dev ptau instead of generating', async () => {
  const otherDir = path.join(tmp, 'data-trunc');
  const [, seconds9] = await secondsOf(() => ensureDevPtau(otherDir, 9, log));
  logs.length = 0;
  const [small, seconds8] = await secondsOf(() => ensureDevPtau(otherDir, 8, log));
  console.log(`power-9 generation: ${seconds9.toFixed(2)} s, truncation to 8: ${seconds8.toFixed(2)} s`);
  assert.ok(logs.some((m) => m.includes('truncating dev-pot9.ptau')));
  assert.equal(warnings().length, 1);
  assert.deepEqual(await inspectPtau(small), { power: 8, prepared: true, contributions: 1, ceremonyPower: 9 });
  assert.deepEqual(await importPtau(small, { verify: true }), { power: 8, prepared: true });
});

test('importPtau rejects files that are not ptau', async () => {
  const junk = path.join(tmp, 'junk.ptau');
  await writeFile(junk, randomBytes(4096));
  await rejectsWith(importPtau(junk, { verify: false }), 'PTAU_INVALID', /not a ptau file/);
  await rejectsWith(importPtau(path.join(tmp, 'absent.ptau'), { verify: false }), 'PTAU_INVALID', /not found/);
});

test('importPtau rejects a truncated download', async () => {
  const cut = path.join(tmp, 'cut.ptau');
  await copyFile(ptau8, cut);
  await truncate(cut, Math.floor((await stat(cut)).size / 2));
  await rejectsWith(importPtau(cut, { verify: false }), 'PTAU_INVALID', /truncated/);
});

test('importPtau requires phase-2 preparation and says how to get it', async () => {
  const raw = path.join(tmp, 'raw.ptau');
  await snarkjs.powersOfTau.newAccumulator(await snarkjs.curves.getCurveFromName('bn128'), 8, raw);
  assert.equal((await inspectPtau(raw)).prepared, false);
  await rejectsWith(importPtau(raw, { verify: false }), 'PTAU_INVALID', /prepare phase2.*_final/s);
});

test('importPtau with verify accepts the dev ptau and rejects a tampered one', async () => {
  const [result, seconds] = await secondsOf(() => importPtau(ptau8, { verify: true }));
  console.log(`powersOfTau.verify at power 8: ${seconds.toFixed(2)} s`);
  assert.deepEqual(result, { power: 8, prepared: true });

  // Swapping two valid tau*G1 points keeps every point on the curve but breaks the powers.
  const tampered = path.join(tmp, 'tampered.ptau');
  await copyFile(ptau8, tampered);
  const tauG1 = await withBinFile(tampered, 'ptau', 'PTAU_INVALID', async (bin) => bin.sections.get(2)![0]);
  const fh = await open(tampered, 'r+');
  const [p5, p6] = [Buffer.alloc(64), Buffer.alloc(64)];
  await fh.read(p5, 0, 64, tauG1.offset + 5 * 64);
  await fh.read(p6, 0, 64, tauG1.offset + 6 * 64);
  await fh.write(p6, 0, 64, tauG1.offset + 5 * 64);
  await fh.write(p5, 0, 64, tauG1.offset + 6 * 64);
  await fh.close();
  await importPtau(tampered, { verify: false }); // structurally fine
  await rejectsWith(importPtau(tampered, { verify: true }), 'PTAU_INVALID', /failed verification/);
});

test('checkPtauFits names both powers when the ptau is too small, and the public file that fits', () => {
  checkPtauFits({ power: 10 }, 10);
  assert.throws(
    () => checkPtauFits({ power: 8 }, 12),
    (e: unknown) =>
      e instanceof ZkError &&
      e.code === 'PTAU_INVALID' &&
      /power 8/.test(e.message) &&
      /power 12/.test(e.message) &&
      /powersOfTau28_hez_final_12\.ptau/.test(e.message),
  );
});

test('the published ceremony files: one per power 8..28, the smallest that fits a circuit', () => {
  assert.deepEqual(
    CEREMONY_FILES.map((c) => c.power),
    Array.from({ length: 21 }, (_, i) => i + 8),
  );
  assert.equal(ceremonyFileFor(16)?.file, 'powersOfTau28_hez_final_16.ptau');
  assert.match(ceremonyFileFor(16)!.blake2b, /^6a6277a2f74e1073/);
  assert.equal(ceremonyFileFor(3)?.power, 8); // a larger file serves a smaller circuit
  assert.equal(ceremonyFileFor(28)?.file, 'powersOfTau28_hez_final.ptau');
  assert.equal(ceremonyFileFor(29), undefined);
});

test('importPtau with verify takes a file whose blake2b is published as that ceremony file, and checks every other', async () => {
  // The swapped-points file of the test above fails snarkjs' verification; listed as published,
  // its hash alone vouches for it (that is what publishing a hash means), and nothing else is run.
  const tampered = path.join(tmp, 'tampered.ptau');
  const listed = { power: 8, file: 'listed_08.ptau', url: 'https://example.invalid/listed_08.ptau', blake2b: await blake2bOfFile(tampered), approxBytes: 0 };
  const [result, seconds] = await secondsOf(() => importPtau(tampered, { verify: true, known: [listed] }));
  console.log(`recognising a power-8 file by its hash: ${seconds.toFixed(3)} s`);
  assert.deepEqual(result, { power: 8, prepared: true, ceremony: listed });
  // A listed hash of another power does not vouch for this file.
  await rejectsWith(importPtau(tampered, { verify: true, known: [{ ...listed, power: 9 }] }), 'PTAU_INVALID', /failed verification/);
  assert.equal(await recogniseCeremonyFile(ptau8), undefined);
});

async function proveAndCheck(wasm: string, zkeyPath: string, outDir: string): Promise<void> {
  const vkey = await loadVerificationKey(outDir);
  const { proof, publicSignals } = await snarkjs.groth16.fullProve({ a: 3, b: 11 }, wasm, zkeyPath);
  assert.deepEqual(publicSignals, ['33']);
  assert.equal(await snarkjs.groth16.verify(vkey, publicSignals, proof), true);
  assert.equal(await snarkjs.groth16.verify(vkey, ['34'], proof), false);
}

test('setupGroth16 makes keys that prove a*b=c and reject a changed output', async () => {
  const { r1cs, wasm } = await compileCircom('tiny', TINY);
  assert.deepEqual(await readR1csHeader(r1cs), { nConstraints: 1, nPublic: 1, nPubOut: 1 });
  const outDir = path.join(tmp, 'keys');
  const setupLogs: string[] = [];
  const result = await setupGroth16({ r1csPath: r1cs, ptauPath: ptau8, outDir, log: (m) => void setupLogs.push(m) });
  console.log(`setupGroth16 (tiny circuit, power-8 ptau): ${result.seconds.toFixed(2)} s`);
  assert.equal(result.zkeyPath, path.join(outDir, 'circuit.zkey'));
  assert.equal(result.vkeyPath, path.join(outDir, 'verification_key.json'));
  assert.match(result.vkeyHash, /^[0-9a-f]{64}$/);
  assert.ok(setupLogs.some((m) => /development phase-2 contribution/.test(m)));
  // snarkjs' progress lines arrive as steps with fractions (the tiny circuit still has a power-8 domain).
  const steps: [string, number][] = [];
  await setupGroth16({ r1csPath: r1cs, ptauPath: ptau8, outDir: path.join(tmp, 'keys-progress'), log: () => {}, progress: (s, f) => void steps.push([s, f]) });
  assert.ok(steps.length > 0 && steps.every(([s, f]) => s.length > 0 && f >= 0 && f <= 1), JSON.stringify(steps));

  const vkey = await loadVerificationKey(outDir);
  assert.equal(vkey.protocol, 'groth16');
  assert.equal(vkey.nPublic, 1);
  assert.equal(hashVerificationKey(vkey), result.vkeyHash);
  // The hash ignores key order and formatting of the stored JSON.
  const reordered = Object.fromEntries(Object.entries(vkey).reverse()) as typeof vkey;
  assert.equal(hashVerificationKey(reordered), result.vkeyHash);
  await proveAndCheck(wasm, result.zkeyPath, outDir);

  // Only the two artifacts are left behind (no temp files).
  assert.deepEqual((await readdir(outDir)).sort(), ['circuit.zkey', 'verification_key.json']);
});

test('PLONK and FFLONK keys from the development ptau prove a*b=c and reject a changed output', async () => {
  const r1cs = path.join(tmp, 'tiny', 'tiny.r1cs'); // compiled by the previous test
  const wasm = path.join(tmp, 'tiny', 'tiny_js', 'tiny.wasm');
  for (const system of ['plonk', 'fflonk'] as const) {
    const outDir = path.join(tmp, `keys-${system}`);
    const result = await setupKeys({ r1csPath: r1cs, ptauPath: ptau8, outDir, system, log: () => {} });
    const vkey = JSON.parse(await readFile(result.vkeyPath, 'utf8')) as object;
    const { proof, publicSignals } = await snarkjs[system].fullProve({ a: 3, b: 11 }, wasm, result.zkeyPath);
    assert.deepEqual(publicSignals, ['33']);
    assert.equal(await PROOF_SYSTEM[system].verify(vkey, publicSignals, proof), true, system);
    assert.equal(await PROOF_SYSTEM[system].verify(vkey, ['34'], proof), false, system);
  }
});

test('setupGroth16 works on a truncated ptau and with verify on', async () => {
  const r1cs = path.join(tmp, 'tiny', 'tiny.r1cs'); // compiled by the previous test
  const wasm = path.join(tmp, 'tiny', 'tiny_js', 'tiny.wasm');
  const outDir = path.join(tmp, 'keys-trunc');
  const ptauPath = path.join(tmp, 'data-trunc', 'ptau', 'dev-pot8.ptau');
  const result = await setupGroth16({ r1csPath: r1cs, ptauPath, outDir, verify: true, log: () => {} });
  console.log(`setupGroth16 with verifyFromR1cs (tiny): ${result.seconds.toFixed(2)} s`);
  await proveAndCheck(wasm, result.zkeyPath, outDir);
});

test('setupGroth16 refuses a ptau too small for the circuit', async () => {
  const { r1cs } = await compileCircom('chain', CHAIN);
  assert.deepEqual(await readR1csHeader(r1cs), { nConstraints: 300, nPublic: 1, nPubOut: 1 });
  await rejectsWith(
    setupGroth16({ r1csPath: r1cs, ptauPath: ptau8, outDir: path.join(tmp, 'keys-chain'), log: () => {} }),
    'PTAU_INVALID',
    /power 8.*power 9/s,
  );
});

test('missing artifacts are ARTIFACT_MISSING', async () => {
  await rejectsWith(loadVerificationKey(path.join(tmp, 'nowhere')), 'ARTIFACT_MISSING', /verification key not found/);
  await rejectsWith(
    setupGroth16({ r1csPath: path.join(tmp, 'none.r1cs'), ptauPath: ptau8, outDir: path.join(tmp, 'x'), log: () => {} }),
    'ARTIFACT_MISSING',
    /r1cs file not found/,
  );
});
