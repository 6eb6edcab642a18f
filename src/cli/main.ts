import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { pino } from 'pino';
import { inputCommitment } from '../commit/open.js';
import { DEFAULT_VISIBILITY, formatVisibility, parseVisibility } from '../commit/visibility.js';
import { isZkError, ZkError } from '../core/errors.js';
import { parseFieldElement, PROOF_SYSTEMS, type ProofSystem, releaseCurve } from '../core/snarkjs.js';
import { solidityCalldata } from '../chain/calldata.js';
import { consumerParameters, exportSolidityVerifier } from '../chain/verifier.js';
import { parseInputs } from '../io/input.js';
import { loadOnnx } from '../onnx/load.js';
import { AUTO_SCALES, compileModel, DEFAULT_HEADROOM } from '../model/compile.js';
import { readModelInfo } from '../model/layout.js';
import { setupModel } from '../model/setup.js';
import { ModelProver } from '../prove/prover.js';
import { loadVerificationKey } from '../setup/index.js';
import { parseProofBundle, verifyBundle } from '../verify/verify.js';
import { runConformance } from '../conformance/run.js';
import { runSuite, type SuiteReference, suiteTable } from '../conformance/suite.js';
import { mockModel } from '../model/mock.js';
import { type GraphSettings, parseSetting, prepareWithDocs } from '../model/prepare.js';
import { configFromEnv } from '../service/config.js';
import { startService } from '../service/service.js';
import { startProverNode } from '../cluster/prover.js';
import { stageBar } from './progress.js';

const dataDir = (): string => resolve(process.env.ZKINFER_DATA_DIR ?? './data');
const readJson = (file: string): unknown => {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ZkError('INPUT_INVALID', `${file}: ${(e as Error).message}`);
  }
};
const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new ZkError('INPUT_INVALID', `${v} is not a whole number`);
  return n;
};

const salt = (v: string): bigint => parseFieldElement(v, '--salt');

/** proof.json → proof.opening.json */
const openingFile = (proofFile: string): string => join(dirname(proofFile), `${basename(proofFile, extname(proofFile))}.opening.json`);

/** `mnist/network.onnx` → `mnist`; `lenet.onnx` → `lenet`. */
function modelName(file: string): string {
  const stem = basename(file, extname(file));
  return ['network', 'model'].includes(stem) ? basename(dirname(resolve(file))) : stem;
}

/** A calibration file holds one input document or an array of them. */
const documents = (file: string): unknown[] => {
  const doc = readJson(file);
  return Array.isArray(doc) ? doc : [doc];
};

/** `--dim name=size` and `--fix name=value` (repeatable) as graph settings. */
function graphSettings(opts: { dim?: string[]; fix?: string[] }): GraphSettings {
  const dims = Object.fromEntries((opts.dim ?? []).map((d) => parseSetting(d, '--dim')).map(([n, [v, ...rest]]) => {
    if (rest.length) throw new ZkError('INPUT_INVALID', `--dim ${n}: one size`);
    return [n, v];
  }));
  return { dims, fix: Object.fromEntries((opts.fix ?? []).map((f) => parseSetting(f, '--fix'))) };
}

const collect = (v: string, all: string[] = []): string[] => [...all, v];
const withGraphOptions = (c: Command): Command =>
  c
    .option('--dim <name=size>', 'size of a symbolic dimension (repeatable); default: from the calibration input, else 1', collect)
    .option('--fix <name=value>', 'fix a parameter input (axes, shape, pads…) as a constant: a number or JSON array (repeatable)', collect);

const program = new Command('zkinfer')
  .description('Zero-knowledge proven inference: ONNX → circom → Groth16')
  .showHelpAfterError();

withGraphOptions(program
  .command('compile'))
  .argument('<model>', 'ONNX model file')
  .requiredOption('--out <dir>', 'output directory for the compiled model')
  .option('--calibrate <input.json>', 'calibration input (one input document or an array of them)')
  .option('--scale <bits>', `fixed-point fraction bits (default: the smallest of ${AUTO_SCALES.join(', ')} within tolerance on the calibration inputs)`)
  .option('--headroom <bits>', 'range bits above the calibrated peak', String(DEFAULT_HEADROOM))
  .option('--visibility <spec>', 'what proofs reveal: input=public|private|hashed, weights=fixed|public|private|hashed, output=public|private|hashed', formatVisibility(DEFAULT_VISIBILITY))
  .option('--accept-error', 'compile even when the measured error exceeds the stated tolerance (model.json and every proof say so)')
  .description('parse, quantize and compile a model to a circom circuit')
  .action(async (model: string, opts: { out: string; calibrate?: string; scale?: string; headroom: string; visibility: string; dim?: string[]; fix?: string[]; acceptError?: boolean }) => {
    const onnx = readFileSync(model);
    const settings = graphSettings(opts);
    const samples = opts.calibrate ? prepareWithDocs(loadOnnx(onnx), settings, documents(opts.calibrate)).samples : undefined;
    const bar = stageBar('compile');
    const info = await compileModel(onnx, opts.out, {
      scale: opts.scale === undefined ? undefined : int(opts.scale),
      headroomBits: int(opts.headroom),
      samples,
      settings,
      acceptError: opts.acceptError,
      name: modelName(model),
      visibility: parseVisibility(opts.visibility),
      progress: bar.update,
    });
    bar.stop();
    console.log(`compiled ${info.name} → ${opts.out} (${formatVisibility(info.visibility)})`);
    if (info.commitments.weights) console.log(`  model commitment (Poseidon of the weights): ${info.commitments.weights.value}`);
    console.log(`  constraints: ${info.constraints.r1cs} (layers: ${info.layers.map((l) => `${l.op} ${l.constraints}`).join(', ') || 'none'})`);
    console.log(`  quantization error: ${info.accuracy.maxAbsError.toExponential(3)} (tolerance ${info.accuracy.tolerance.toExponential(3)}, ${info.accuracy.samples} sample(s))`);
    if (info.accuracy.accepted) console.log(`  WARNING: the error exceeds the tolerance; accepted with --accept-error, and every proof says so`);
    if (info.graphSettings) console.log(`  graph settings: ${JSON.stringify(info.graphSettings)}`);
    console.log(`  circom: ${info.compileSeconds.toFixed(1)} s`);
  });

withGraphOptions(program
  .command('mock'))
  .argument('<model>', 'ONNX model file')
  .requiredOption('--input <input.json>', 'input document')
  .option('--calibrate <input.json>', 'calibration input(s) (default: the input itself)')
  .option('--scale <bits>', 'fixed-point fraction bits (default: chosen as compile does)')
  .option('--accept-error', 'report an error above the tolerance instead of failing')
  .option('--json', 'print the result as JSON')
  .description('run the quantized circuit on an input and check every constraint on its witness, without keys or a proof (fast: no circom)')
  .action(async (model: string, opts: { input: string; calibrate?: string; scale?: string; acceptError?: boolean; json?: boolean; dim?: string[]; fix?: string[] }) => {
    const onnx = readFileSync(model);
    const settings = graphSettings(opts);
    const graph = loadOnnx(onnx);
    const { samples: [input] } = prepareWithDocs(graph, settings, [readJson(opts.input)]);
    const samples = opts.calibrate ? prepareWithDocs(graph, settings, documents(opts.calibrate)).samples : undefined;
    const r = await mockModel(onnx, input, { settings, samples, scale: opts.scale === undefined ? undefined : int(opts.scale), acceptError: opts.acceptError });
    if (opts.json) console.log(JSON.stringify(r, null, 2));
    else {
      for (const o of r.outputs) console.log(`${o.name} [${o.dims}]: ${o.values.map((v) => +v.toFixed(6)).join(', ')}`);
      console.log(`scale ${r.scale}, ${r.constraints} gadget constraints; error against onnxruntime ${r.maxAbsError.toExponential(3)} (tolerance ${r.tolerance.toExponential(3)})`);
      for (const v of r.violations.slice(0, 10)) console.log(`constraint broken: layer ${v.layer} (${v.op} node ${v.node}) element ${v.element}: ${v.what}`);
      console.log(r.violations.length ? `mock: ${r.violations.length} constraint(s) broken: no proof exists` : r.withinTolerance ? 'mock: ok, every constraint holds' : 'mock: constraints hold but the output is beyond the tolerance');
    }
    if (r.violations.length || !r.withinTolerance) process.exitCode = 1;
  });

program
  .command('setup')
  .argument('<dir>', 'compiled model directory')
  .option('--ptau <file>', 'existing powers-of-tau file (e.g. a public ceremony file)')
  .option('--verify-ptau', 'fully verify the ptau file (slow for large files)')
  .option('--power <n>', 'power of the development ptau to generate')
  .addOption(new Option('--system <system>', 'proof system').choices(PROOF_SYSTEMS).default('groth16'))
  .description('generate proving and verifying keys')
  .action(async (dir: string, opts: { ptau?: string; verifyPtau?: boolean; power?: string; system: ProofSystem }) => {
    const info = await setupModel(dir, { system: opts.system, ptau: opts.ptau, verifyPtau: opts.verifyPtau, power: opts.power ? int(opts.power) : undefined, dataDir: dataDir() });
    console.log(`${info.setup!.system} keys written to ${dir} (ptau power ${info.setup!.ptauPower}${info.setup!.developmentPtau ? ', INSECURE development ptau' : ''})`);
    console.log(`  verifying key sha256: ${info.setup!.vkeyHash}`);
  });

program
  .command('prove')
  .argument('<dir>', 'compiled model directory with keys')
  .requiredOption('--input <input.json>', 'input document')
  .requiredOption('--out <proof.json>', 'where to write the proof bundle')
  .option('--salt <decimal>', 'salt of the input/output commitments (default: random; written to the opening file)')
  .description('run the model and prove the output')
  .action(async (dir: string, opts: { input: string; out: string; salt?: string }) => {
    const prover = await ModelProver.load(dir);
    const values = parseInputs(readJson(opts.input), prover.info.inputs);
    const { opening, ...bundle } = await prover.prove(values, { salt: opts.salt === undefined ? undefined : salt(opts.salt) });
    writeFileSync(opts.out, JSON.stringify(bundle, null, 2) + '\n');
    for (const o of opening?.outputs ?? bundle.outputs) console.log(`${o.name} [${o.dims}]: ${o.values.map((v) => +v.toFixed(6)).join(', ')}`);
    for (const [of, value] of Object.entries(bundle.commitments ?? {})) console.log(`${of} commitment: ${value}`);
    console.log(`proof written to ${opts.out} (witness ${bundle.timings.witnessMs.toFixed(0)} ms, prove ${bundle.timings.proveMs.toFixed(0)} ms)`);
    if (opening) {
      const file = openingFile(opts.out);
      writeFileSync(file, JSON.stringify(opening, null, 2) + '\n');
      console.log(`private values and salt written to ${file}: keep it, do not share it with the proof`);
    }
  });

program
  .command('verify')
  .argument('<dir>', 'compiled model directory (model.json and verification_key.json)')
  .argument('<proof>', 'proof bundle')
  .option('--input <input.json>', 'also require the proof to commit to this input (hashed-input models; needs --salt)')
  .option('--salt <decimal>', 'the salt of the commitment')
  .option('--input-commitment <decimal>', 'also require this input commitment')
  .description('verify a proof bundle offline')
  .action(async (dir: string, proofFile: string, opts: { input?: string; salt?: string; inputCommitment?: string }) => {
    const info = readModelInfo(dir);
    let expected = opts.inputCommitment;
    if (opts.input) {
      if (opts.salt === undefined) throw new ZkError('INPUT_INVALID', '--input needs the --salt of the commitment');
      expected = await inputCommitment(info, parseInputs(readJson(opts.input), info.inputs), salt(opts.salt));
    }
    const verdict = await verifyBundle(info, await loadVerificationKey(dir), parseProofBundle(readJson(proofFile)), { inputCommitment: expected });
    if (verdict.valid) console.log('valid');
    else {
      console.log(`invalid: ${verdict.reason}`);
      process.exitCode = 1;
    }
  });

program
  .command('verifier')
  .argument('<dir>', 'compiled model directory with keys')
  .requiredOption('--out <Verifier.sol>', 'where to write the Solidity verifier')
  .description("export the Solidity verifier of the model's keys, and the consumer contract's parameters")
  .action(async (dir: string, opts: { out: string }) => {
    const verifier = await exportSolidityVerifier(dir);
    writeFileSync(opts.out, verifier.source);
    console.log(`${verifier.contractName} (${verifier.system}) written to ${opts.out}: ${verifier.signature} = ${verifier.selector}`);
    console.log(`ZkInferConsumer constructor (after the verifier's address): ${JSON.stringify(consumerParameters(readModelInfo(dir)))}`);
  });

program
  .command('calldata')
  .argument('<dir>', 'compiled model directory (model.json)')
  .argument('<proof>', 'proof bundle')
  .option('--consumer', "print ZkInferConsumer.submit's arguments (model id, proof words, public signals)")
  .option('--encoded', "print the ABI-encoded call to the verifier's verifyProof (0x…)")
  .description("print a proof's arguments for the Solidity verifier, as JSON")
  .action(async (dir: string, proofFile: string, opts: { consumer?: boolean; encoded?: boolean }) => {
    const info = readModelInfo(dir);
    const bundle = parseProofBundle(readJson(proofFile));
    // A proof of another model would fail on chain; say so here, where the reason is clear.
    if (bundle.system !== info.setup?.system || bundle.model.vkeyHash !== info.setup.vkeyHash) {
      throw new ZkError('INPUT_INVALID', `${proofFile} is a ${bundle.system} proof for key ${bundle.model.vkeyHash.slice(0, 12)}…; ${dir} has ${info.setup ? `${info.setup.system} key ${info.setup.vkeyHash.slice(0, 12)}…` : 'no keys'}`);
    }
    const calldata = await solidityCalldata(bundle);
    if (opts.encoded) console.log(calldata.encoded);
    else if (opts.consumer) console.log(JSON.stringify([consumerParameters(info).modelId, calldata.proof, calldata.publicSignals]));
    else console.log(JSON.stringify(calldata.args));
  });

program
  .command('conformance')
  .argument('<corpus>', 'directory of NAME/network.onnx + NAME/input.json')
  .option('--tier <tier>', 'only the models of this tier in the corpus tiers.json (core, extended, sequence)')
  .option('--only <names>', 'comma-separated model names')
  .option('--json <report.json>', 'write the results as JSON')
  .option('--work <dir>', 'where to compile models', './data/conformance')
  .option('--max-power <n>', 'skip models whose circuit needs a larger ptau than this power')
  .addOption(new Option('--reference <source>', "mock mode: compare with each case's output_data or with onnxruntime").choices(['output_data', 'onnxruntime']).default('output_data'))
  .option('--prove', 'compile with circom, set up keys, prove and verify each model (default without --tier: mock every case)')
  .description("run a corpus: mock each case against its output_data or onnxruntime (ONNX's operator suite), or with --prove/--tier prove and verify each")
  .action(async (corpus: string, opts: { tier?: string; only?: string; json?: string; work: string; maxPower?: string; prove?: boolean; reference: SuiteReference }) => {
    if (!opts.prove && !opts.tier) {
      const results = await runSuite(corpus, { only: opts.only?.split(','), reference: opts.reference, log: (c) => console.error(`${c.status.padEnd(7)} ${c.name}${c.fixed ? ` (fixed ${c.fixed.join(', ')})` : ''}${c.reason ? `: ${c.reason.slice(0, 200)}` : ''}`) });
      console.log(suiteTable(results));
      if (opts.json) writeFileSync(opts.json, JSON.stringify(results, null, 2) + '\n');
      if (results.some((r) => r.status === 'wrong' || r.status === 'error')) process.exitCode = 1;
      return;
    }
    const maxPower = opts.maxPower === undefined ? undefined : int(opts.maxPower);
    const report = await runConformance({ corpus, tier: opts.tier, only: opts.only?.split(','), workDir: opts.work, dataDir: dataDir(), maxPower, log: (m) => console.error(m) });
    console.log(report.table);
    if (opts.json) writeFileSync(opts.json, JSON.stringify(report.results, null, 2) + '\n');
    if (report.results.some((r) => r.status === 'fail' && r.supported)) process.exitCode = 1;
  });

program
  .command('serve')
  .description('run the proof service (HTTP API; configured by environment variables, see README "Service")')
  .action(async () => {
    const service = await startService(configFromEnv());
    await untilSignal();
    await service.close();
  });

/** Resolves on the first SIGTERM or SIGINT; a second one gets Node's default handling: exit at once. */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop).off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop).on('SIGINT', stop);
  });
}

program
  .command('prover')
  .description('run a prover node: take proof jobs from the Redis queue (REDIS_URL) and prove them; see README "Scale out"')
  .action(async () => {
    const config = configFromEnv();
    const node = await startProverNode(config, pino({ level: config.logLevel }).child({ node: config.nodeName }));
    await untilSignal();
    await node.close();
  });

try {
  await program.parseAsync();
} catch (e) {
  if (isZkError(e)) console.error(`error [${e.code}]: ${e.message}`);
  else console.error(e);
  process.exitCode = 1;
} finally {
  await releaseCurve();
}
