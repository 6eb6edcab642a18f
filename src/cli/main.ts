/**
 * The `zkinfer` command line. Each command loads the modules it needs when it runs (dynamic
 * imports): loading everything (snarkjs, onnxruntime, the service's Express/BullMQ/S3 stack) cost a
 * cold `zkinfer prove` about 1.3 s of CPU before proving anything.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { DEFAULT_VISIBILITY, formatVisibility, parseVisibility } from '../commit/visibility.js';
import { isZkError, ZkError } from '../core/errors.js';
import { PROOF_SYSTEMS, type ProofSystem } from '../core/systems.js';
import { parseInputs } from '../io/input.js';
import { AUTO_SCALES, DEFAULT_HEADROOM } from '../model/defaults.js';
import { readModelInfo } from '../model/layout.js';
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

const salt = async (v: string): Promise<bigint> => (await import('../core/snarkjs.js')).parseFieldElement(v, '--salt');

/** proof.json → proof.opening.json */
const openingFile = (proofFile: string): string => join(dirname(proofFile), `${basename(proofFile, extname(proofFile))}.opening.json`);

/** `mnist/network.onnx` → `mnist`; `lenet.onnx` → `lenet`. */
function modelName(file: string): string {
  const stem = basename(file, extname(file));
  return ['network', 'model'].includes(stem) ? basename(dirname(resolve(file))) : stem;
}

/** A calibration file holds one input document or an array of them. */
async function calibrationSamples(file: string, onnx: Uint8Array): Promise<number[][][]> {
  const doc = readJson(file);
  const specs = (await import('../onnx/load.js')).loadOnnx(onnx).inputs;
  return (Array.isArray(doc) ? doc : [doc]).map((d) => parseInputs(d, specs));
}

const program = new Command('zkinfer')
  .description('Zero-knowledge proven inference: ONNX → circom → Groth16')
  .showHelpAfterError();

program
  .command('compile')
  .argument('<model>', 'ONNX model file')
  .requiredOption('--out <dir>', 'output directory for the compiled model')
  .option('--calibrate <input.json>', 'calibration input (one input document or an array of them)')
  .option('--scale <bits>', `fixed-point fraction bits (default: the smallest of ${AUTO_SCALES.join(', ')} within tolerance on the calibration inputs)`)
  .option('--headroom <bits>', 'range bits above the calibrated peak', String(DEFAULT_HEADROOM))
  .option('--visibility <spec>', 'what proofs reveal: input=public|private|hashed, weights=fixed|public|private|hashed, output=public|private|hashed', formatVisibility(DEFAULT_VISIBILITY))
  .description('parse, quantize and compile a model to a circom circuit')
  .action(async (model: string, opts: { out: string; calibrate?: string; scale?: string; headroom: string; visibility: string }) => {
    const { compileModel } = await import('../model/compile.js');
    const onnx = readFileSync(model);
    const samples = opts.calibrate ? await calibrationSamples(opts.calibrate, onnx) : undefined;
    const bar = stageBar('compile');
    const info = await compileModel(onnx, opts.out, {
      scale: opts.scale === undefined ? undefined : int(opts.scale),
      headroomBits: int(opts.headroom),
      samples,
      name: modelName(model),
      visibility: parseVisibility(opts.visibility),
      progress: bar.update,
    });
    bar.stop();
    console.log(`compiled ${info.name} → ${opts.out} (${formatVisibility(info.visibility)})`);
    if (info.commitments.weights) console.log(`  model commitment (Poseidon of the weights): ${info.commitments.weights.value}`);
    console.log(`  constraints: ${info.constraints.r1cs} (layers: ${info.layers.map((l) => `${l.op} ${l.constraints}`).join(', ') || 'none'})`);
    console.log(`  quantization error: ${info.accuracy.maxAbsError.toExponential(3)} (tolerance ${info.accuracy.tolerance.toExponential(3)}, ${info.accuracy.samples} sample(s))`);
    console.log(`  circom: ${info.compileSeconds.toFixed(1)} s`);
    const [{ circuitPower }, { ceremonyFileFor, describeCeremonyFile }, { modelFiles }] = await Promise.all([
      import('../setup/r1cs.js'),
      import('../setup/ceremony.js'),
      import('../model/layout.js'),
    ]);
    const power = await circuitPower(modelFiles(opts.out).r1cs, 'groth16');
    const file = ceremonyFileFor(power);
    console.log(`  groth16 needs a ptau of power ${power}${file ? `: the public ${describeCeremonyFile(file)} or any larger one (setup --ptau), or a development ptau (setup)` : ''}`);
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
    const { setupModel } = await import('../model/setup.js');
    const bar = stageBar('setup', { perStage: true });
    const info = await setupModel(dir, {
      system: opts.system,
      ptau: opts.ptau,
      verifyPtau: opts.verifyPtau,
      power: opts.power ? int(opts.power) : undefined,
      dataDir: dataDir(),
      progress: ({ stage, fraction, step }) => bar.update(stage === 'ptau' ? 'development ptau' : `keys${step ? `: ${step}` : ''}`, fraction),
    }).finally(() => bar.stop());
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
    const { ModelProver } = await import('../prove/prover.js');
    const prover = await ModelProver.load(dir);
    const values = parseInputs(readJson(opts.input), prover.info.inputs);
    const { opening, ...bundle } = await prover.prove(values, { salt: opts.salt === undefined ? undefined : await salt(opts.salt) });
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
    const [{ parseProofBundle, verifyBundle }, { loadVerificationKey }] = await Promise.all([import('../verify/verify.js'), import('../setup/keys.js')]);
    const info = readModelInfo(dir);
    let expected = opts.inputCommitment;
    if (opts.input) {
      if (opts.salt === undefined) throw new ZkError('INPUT_INVALID', '--input needs the --salt of the commitment');
      const { inputCommitment } = await import('../commit/open.js');
      expected = await inputCommitment(info, parseInputs(readJson(opts.input), info.inputs), await salt(opts.salt));
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
    const { consumerParameters, exportSolidityVerifier } = await import('../chain/verifier.js');
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
    const [{ parseProofBundle }, { solidityCalldata }, { consumerParameters }] = await Promise.all([
      import('../verify/verify.js'),
      import('../chain/calldata.js'),
      import('../chain/verifier.js'),
    ]);
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
  .description('compile, prove and verify every model of a corpus against onnxruntime')
  .action(async (corpus: string, opts: { tier?: string; only?: string; json?: string; work: string; maxPower?: string }) => {
    const { runConformance } = await import('../conformance/run.js');
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
    const [{ startService }, { configFromEnv }] = await Promise.all([import('../service/service.js'), import('../service/config.js')]);
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
    const [{ startProverNode }, { configFromEnv }, { pino }] = await Promise.all([import('../cluster/prover.js'), import('../service/config.js'), import('pino')]);
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
  // Only a command that used snarkjs has its curve's threads to stop (and snarkjs loaded already).
  if ((globalThis as { curve_bn128?: unknown }).curve_bn128) await (await import('../core/snarkjs.js')).releaseCurve();
}
