/**
 * The `zkinfer` command line. Each command loads the modules it needs when it runs (dynamic
 * imports): loading everything (snarkjs, onnxruntime, the service's Express/BullMQ/S3 stack) cost a
 * cold `zkinfer prove` about 1.3 s of CPU before proving anything.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { formatVisibility } from '../commit/visibility.js';
import { isZkError, parseOrThrow, ZkError } from '../core/errors.js';
import { compileOptionsOf, SETTING_FLAGS, type Settings, settingsSchema } from '../core/settings.js';
import { MAX_DEV_PTAU_POWER, PROOF_SYSTEMS, type ProofSystem } from '../core/systems.js';
import { parseInputs } from '../io/input.js';
import { modelFiles, readModelInfo } from '../model/layout.js';
import { parseSetting } from '../model/prepare.js';
import { stageBar } from './progress.js';

// Output piped into `head` that has seen enough: stop quietly, as Unix tools do (it was an unhandled EPIPE and a stack).
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(0);
});

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

/** Values to print: 6 decimals, the first 16 of a long tensor. */
const list = (values: number[]): string =>
  values
    .slice(0, 16)
    .map((v) => +v.toFixed(6))
    .join(', ') + (values.length > 16 ? `, … (${values.length})` : '');

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

const FORCE_HELP = "replace the model's existing keys (invalidates its earlier proofs, deployed verifiers and the consumer's model id)";

const collect = (v: string, all: string[] = []): string[] => [...all, v];

/** A setting's flag, described by the schema (or `description`, where a command gives it another use); --dim and --fix repeat. */
function settingOption(name: Exclude<keyof typeof SETTING_FLAGS, 'system'>, description = settingsSchema.shape[name].description ?? ''): Option {
  const extra = name === 'dim' || name === 'fix' ? ' (repeatable)' : name === 'calibration' ? ' (a file)' : '';
  const option = new Option(SETTING_FLAGS[name], description + extra);
  return name === 'dim' || name === 'fix' ? option.argParser(collect) : option;
}

type SettingOpts = { scale?: string; headroom?: string; visibility?: string; dim?: string[]; fix?: string[]; acceptError?: boolean };

/** The flags as the settings schema reads the API's fields: repeated --dim joined by commas, the --fix pairs as one JSON object. */
function parseSettings(opts: SettingOpts): Settings {
  const text = {
    scale: opts.scale,
    headroom: opts.headroom,
    visibility: opts.visibility,
    dim: opts.dim?.join(','),
    fix: opts.fix && JSON.stringify(Object.fromEntries(opts.fix.map((f) => parseSetting(f, '--fix')))),
    accept_error: opts.acceptError ? 'true' : undefined,
  };
  return parseOrThrow(settingsSchema, text, 'option');
}

const program = new Command('zkinfer')
  .description('Zero-knowledge proven inference: ONNX → circom → Groth16, PLONK or FFLONK proofs (snarkjs)')
  .showHelpAfterError();

program
  .command('compile')
  .argument('<model>', 'ONNX model file')
  .requiredOption('--out <dir>', 'output directory for the compiled model')
  .addOption(settingOption('calibration'))
  .addOption(settingOption('scale'))
  .addOption(settingOption('headroom'))
  .addOption(settingOption('visibility'))
  .addOption(settingOption('dim'))
  .addOption(settingOption('fix'))
  .addOption(settingOption('accept_error'))
  .option('--force', FORCE_HELP)
  .description('parse, quantize and compile a model to a circom circuit')
  .action(async (model: string, opts: SettingOpts & { out: string; calibrate?: string; force?: boolean }) => {
    // A new circuit leaves the directory's keys (a finished ceremony's, say) without a model: as setup, only when told.
    refuseReplacingKeys(opts.out, 'compile', opts.force);
    const [{ compileModel }, { readModelFile }, { loadOnnx }, { prepareWithDocs }] = await Promise.all([
      import('../model/compile.js'),
      import('../onnx/external.js'),
      import('../onnx/load.js'),
      import('../model/prepare.js'),
    ]);
    const onnx = readModelFile(model);
    const { graph, ...settings } = compileOptionsOf(parseSettings(opts));
    const samples = opts.calibrate ? prepareWithDocs(loadOnnx(onnx), graph ?? {}, documents(opts.calibrate)).samples : undefined;
    const bar = stageBar('compile');
    const info = await compileModel(onnx, opts.out, { ...settings, settings: graph, samples, name: modelName(model), progress: bar.update });
    bar.stop();
    console.log(`compiled ${info.name} → ${opts.out} (${formatVisibility(info.visibility)})`);
    if (info.commitments.weights) console.log(`  model commitment (Poseidon of the weights): ${info.commitments.weights.value}`);
    console.log(`  constraints: ${info.constraints.r1cs} (layers: ${info.layers.map((l) => `${l.op} ${l.constraints}`).join(', ') || 'none'})`);
    console.log(
      `  quantization error: ${info.accuracy.maxAbsError.toExponential(3)} (tolerance ${info.accuracy.tolerance.toExponential(3)}, ${info.accuracy.samples} sample(s))`,
    );
    if (info.accuracy.accepted) console.log(`  WARNING: the error exceeds the tolerance; accepted with --accept-error, and every proof says so`);
    if (info.graphSettings) console.log(`  graph settings: ${JSON.stringify(info.graphSettings)}`);
    console.log(`  circom: ${info.compileSeconds.toFixed(1)} s`);
    const [{ circuitPower }, { ceremonyFileFor, describeCeremonyFile }, { modelFiles }] = await Promise.all([
      import('../setup/r1cs.js'),
      import('../setup/ptau-files.js'),
      import('../model/layout.js'),
    ]);
    const power = await circuitPower(modelFiles(opts.out).r1cs, 'groth16');
    const file = ceremonyFileFor(power);
    console.log(
      `  groth16 needs a ptau of power ${power}${file ? `: the public ${describeCeremonyFile(file)} or any larger one (setup --ptau), or a development ptau (setup)` : ''}`,
    );
  });

program
  .command('mock')
  .argument('<model>', 'ONNX model file')
  .requiredOption('--input <input.json>', 'input document')
  .addOption(settingOption('calibration', 'calibration input(s) (default: the input itself)'))
  .addOption(settingOption('scale'))
  .addOption(settingOption('dim'))
  .addOption(settingOption('fix'))
  .addOption(settingOption('accept_error', 'report an error above the tolerance instead of failing'))
  .option('--json', 'print the result as JSON')
  .description('run the quantized circuit on an input and check every constraint on its witness, without keys or a proof (fast: no circom)')
  .action(async (model: string, opts: SettingOpts & { input: string; calibrate?: string; json?: boolean }) => {
    const [{ mockModel }, { readModelFile }, { loadOnnx }, { prepareWithDocs }] = await Promise.all([
      import('../model/mock.js'),
      import('../onnx/external.js'),
      import('../onnx/load.js'),
      import('../model/prepare.js'),
    ]);
    const onnx = readModelFile(model);
    const { graph = {}, scale, acceptError } = compileOptionsOf(parseSettings(opts));
    const onnxGraph = loadOnnx(onnx);
    const {
      samples: [input],
    } = prepareWithDocs(onnxGraph, graph, [readJson(opts.input)]);
    const samples = opts.calibrate ? prepareWithDocs(onnxGraph, graph, documents(opts.calibrate)).samples : undefined;
    const r = await mockModel(onnx, input, { settings: graph, samples, scale, acceptError });
    if (opts.json) console.log(JSON.stringify(r, null, 2));
    else {
      for (const o of r.outputs) console.log(`${o.name} [${o.dims}]: ${o.values.map((v) => +v.toFixed(6)).join(', ')}`);
      console.log(
        `scale ${r.scale}, ${r.constraints} gadget constraints; error against onnxruntime ${r.maxAbsError.toExponential(3)} (tolerance ${r.tolerance.toExponential(3)})`,
      );
      for (const v of r.violations.slice(0, 10)) console.log(`constraint broken: layer ${v.layer} (${v.op} node ${v.node}) element ${v.element}: ${v.what}`);
      console.log(
        r.violations.length
          ? `mock: ${r.violations.length} constraint(s) broken: no proof exists`
          : r.withinTolerance
            ? 'mock: ok, every constraint holds'
            : 'mock: constraints hold but the output is beyond the tolerance',
      );
    }
    if (r.violations.length || !r.withinTolerance) process.exitCode = 1;
  });

program
  .command('setup')
  .argument('<dir>', 'compiled model directory')
  .option('--ptau <file>', 'existing powers-of-tau file (e.g. a public ceremony file)')
  .option('--verify-ptau', 'fully verify the ptau file (slow for large files)')
  .option('--power <n>', 'power of the development ptau to generate')
  .option('--max-power <n>', `largest development ptau to generate (env ZKINFER_MAX_PTAU_POWER, default ${MAX_DEV_PTAU_POWER})`)
  .addOption(new Option('--system <system>', settingsSchema.shape.system.description).choices(PROOF_SYSTEMS).default('groth16'))
  .option('--force', FORCE_HELP)
  .description('generate proving and verifying keys')
  .action(async (dir: string, opts: { ptau?: string; verifyPtau?: boolean; power?: string; maxPower?: string; system: ProofSystem; force?: boolean }) => {
    const { setupModel } = await import('../model/setup.js');
    refuseReplacingKeys(dir, 'setup', opts.force);
    if (opts.verifyPtau && !opts.ptau) throw new ZkError('INPUT_INVALID', '--verify-ptau verifies the file given with --ptau');
    const bar = stageBar('setup', { perStage: true });
    const maxPower = opts.maxPower ?? process.env.ZKINFER_MAX_PTAU_POWER;
    const info = await setupModel(dir, {
      system: opts.system,
      ptau: opts.ptau,
      verifyPtau: opts.verifyPtau,
      power: opts.power ? int(opts.power) : undefined,
      maxPower: maxPower ? int(maxPower) : undefined,
      dataDir: dataDir(),
      progress: ({ stage, fraction, step }) => bar.update(stage === 'ptau' ? 'development ptau' : `keys${step ? `: ${step}` : ''}`, fraction),
    }).finally(() => bar.stop());
    console.log(
      `${info.setup!.system} keys written to ${dir} (ptau power ${info.setup!.ptauPower}${info.setup!.developmentPtau ? ', INSECURE development ptau' : ''})`,
    );
    console.log(`  verifying key sha256: ${info.setup!.vkeyHash}`);
    await printTrust(dir);
  });

/** Model version id and who must be trusted; an operator-only key is said to be one, loudly. */
async function printTrust(dir: string): Promise<void> {
  const { trustSummary } = await import('../model/trust.js');
  const info = readModelInfo(dir);
  const trust = trustSummary(info);
  if (info.setup?.versionId) console.log(`  model version id: ${info.setup.versionId}`);
  if (!trust) return;
  console.log(`  trusted: ${trust.trusted}`);
  if (trust.warning) console.log(`  WARNING: ${trust.warning}`);
}

/**
 * New keys (or a new circuit) invalidate what the old keys made; `setup`, `ceremony init` and `compile` replace them only when told to.
 * @throws ZkError CONFLICT when DIR has keys and `force` is not set.
 */
function refuseReplacingKeys(dir: string, command: string, force: boolean | undefined): void {
  const existing = existsSync(modelFiles(dir).info) ? readModelInfo(dir).setup : undefined;
  if (!existing || force) return;
  throw new ZkError(
    'CONFLICT',
    `${dir} already has ${existing.system} keys (model id 0x${existing.vkeyHash}). New keys would invalidate every proof made ` +
      `with them, every verifier contract deployed for them and the consumer contract's model id; run ${command} with --force to replace them`,
  );
}

const ceremony = program.command('ceremony').description('Groth16 phase-2 ceremony: keys no single party can forge proofs with (README "Trust")');

ceremony
  .command('init')
  .argument('<dir>', 'compiled model directory')
  .option('--ptau <file>', 'existing powers-of-tau file (e.g. a public ceremony file)')
  .option('--power <n>', 'power of the development ptau to generate')
  .option('--force', FORCE_HELP)
  .description('start a ceremony: the initial key (no contribution yet; proofs are refused until finalize)')
  .action(async (dir: string, opts: { ptau?: string; power?: string; force?: boolean }) => {
    const { initCeremony } = await import('../model/ceremony.js');
    refuseReplacingKeys(dir, 'ceremony init', opts.force);
    await initCeremony(dir, { ptau: opts.ptau, power: opts.power ? int(opts.power) : undefined, dataDir: dataDir() });
    console.log(`ceremony opened in ${dir}: contributors take ${join(dir, 'circuit.zkey')}, run zkinfer ceremony contribute, and send back their zkey`);
    await printTrust(dir);
  });

ceremony
  .command('contribute')
  .argument('<in>', 'the current zkey of the ceremony')
  .argument('<out>', 'where to write the zkey with your contribution')
  .requiredOption('--name <name>', 'your name in the transcript (1 to 64 bytes)')
  .option('--entropy <text>', 'extra entropy mixed with random bytes')
  .description('add your own contribution on your own machine (snarkjs zkey contribute); publish the hash it prints')
  .action(async (input: string, out: string, opts: { name: string; entropy?: string }) => {
    const { contributeZKey } = await import('../setup/ceremony.js');
    const hash = await contributeZKey(input, out, opts.name, opts.entropy);
    console.log(`contribution "${opts.name}" written to ${out}`);
    console.log(`  contribution hash: ${hash}`);
  });

ceremony
  .command('add')
  .argument('<dir>', 'model directory with an open ceremony')
  .argument('<contribution>', "a contributor's zkey")
  .option('--ptau <file>', 'the ptau of the ceremony (default: the development one in the data directory)')
  .description('verify a contribution (zkey verify, extends the chain) and make it the current key')
  .action(async (dir: string, file: string, opts: { ptau?: string }) => {
    const { addContribution } = await import('../model/ceremony.js');
    const t = await addContribution(dir, file, { ptau: opts.ptau, dataDir: dataDir() });
    const last = t.contributions.at(-1)!;
    console.log(`contribution #${t.contributions.length} "${last.name}" accepted: ${last.hash}`);
  });

ceremony
  .command('finalize')
  .argument('<dir>', 'model directory with an open ceremony')
  .requiredOption('--beacon <hex>', 'public random beacon (e.g. a future block hash), hex')
  .option('--iterations <n>', 'beacon hash iterations, as a power of two (10 to 63)', '10')
  .description('close the ceremony with a public beacon (snarkjs zkey beacon); proofs are accepted afterwards')
  .action(async (dir: string, opts: { beacon: string; iterations: string }) => {
    const { finalizeCeremony } = await import('../model/ceremony.js');
    const t = await finalizeCeremony(dir, opts.beacon, int(opts.iterations));
    console.log(`ceremony finalized after ${t.contributions.length} contribution(s): beacon ${t.beacon!.hash}`);
    await printTrust(dir);
  });

ceremony
  .command('verify')
  .argument('<dir>', 'model directory with a ceremony')
  .option('--ptau <file>', 'the ptau of the ceremony (default: the development one in the data directory)')
  .description('check the key against the r1cs and ptau, and the transcript against the key')
  .action(async (dir: string, opts: { ptau?: string }) => {
    const { verifyCeremony } = await import('../model/ceremony.js');
    const check = await verifyCeremony(dir, { ptau: opts.ptau, dataDir: dataDir() });
    for (const [i, c] of check.transcript.contributions.entries()) console.log(`#${i + 1} ${c.name} ${c.hash} (${c.addedAt})`);
    if (check.transcript.beacon)
      console.log(`beacon ${check.transcript.beacon.value} (2^${check.transcript.beacon.iterationsExp}): ${check.transcript.beacon.hash}`);
    for (const p of check.problems) console.log(`FAIL: ${p}`);
    console.log(check.ok ? 'ceremony ok' : 'ceremony NOT ok');
    if (!check.ok) process.exitCode = 1;
  });

program
  .command('prove')
  .argument('<dir>', 'compiled model directory with keys')
  .requiredOption('--input <input.json>', 'input document')
  .requiredOption('--out <proof.json>', 'where to write the proof bundle')
  .option('--salt <decimal>', 'salt of the input/output commitments (default: random; written to the opening file)')
  .option('--compare', "also run the float model with onnxruntime and report each output's error")
  .description('run the model and prove the output')
  .action(async (dir: string, opts: { input: string; out: string; salt?: string; compare?: boolean }) => {
    const { ModelProver } = await import('../prove/prover.js');
    const prover = await ModelProver.load(dir);
    const values = parseInputs(readJson(opts.input), prover.info.inputs);
    const { opening, ...bundle } = await prover.prove(values, { salt: opts.salt === undefined ? undefined : await salt(opts.salt) });
    writeFileSync(opts.out, `${JSON.stringify(bundle, null, 2)}\n`);
    const outputs = opening?.outputs ?? bundle.outputs;
    for (const o of outputs) console.log(`${o.name} [${o.dims}]: ${list(o.values)}`);
    if (opts.compare) {
      const { outputAccuracy, ReferenceSession } = await import('../reference/onnxruntime.js');
      const session = await ReferenceSession.load(readFileSync(modelFiles(dir).onnx));
      const accuracy = await outputAccuracy(
        session,
        prover.info.inputs,
        outputs,
        values,
        outputs.map((o) => o.values),
      ).finally(() => session.release());
      console.log(`accuracy against onnxruntime (float), tolerance ${prover.info.accuracy.tolerance.toExponential(3)}:`);
      for (const a of accuracy) console.log(`  ${a.name}: max |error| ${a.maxAbsError.toExponential(3)}; onnxruntime: ${list(a.reference)}`);
    }
    for (const [of, value] of Object.entries(bundle.commitments ?? {})) console.log(`${of} commitment: ${value}`);
    if (bundle.trust?.warning) console.log(`WARNING: ${bundle.trust.warning}`);
    console.log(`proof written to ${opts.out} (witness ${bundle.timings.witnessMs.toFixed(0)} ms, prove ${bundle.timings.proveMs.toFixed(0)} ms)`);
    if (opening) {
      const file = openingFile(opts.out);
      writeFileSync(file, `${JSON.stringify(opening, null, 2)}\n`);
      console.log(`private values and salt written to ${file}: keep it, do not share it with the proof`);
    }
  });

program
  .command('verify')
  .argument('<dir>', 'compiled model directory (model.json and verification_key.json)')
  .argument('<proof>', 'proof bundle')
  .option('--opening <proof.opening.json>', 'also require the proof to commit to the private values and salt of this opening file, as prove writes it')
  .option('--input <input.json>', 'also require the proof to commit to this input (hashed-input models; needs --salt)')
  .option('--salt <decimal>', 'the salt of the commitment')
  .option('--input-commitment <decimal>', 'also require this input commitment')
  .option('--output-commitment <decimal>', 'also require this output commitment (hashed-output models)')
  .description('verify a proof bundle offline')
  .action(
    async (dir: string, proofFile: string, opts: { opening?: string; input?: string; salt?: string; inputCommitment?: string; outputCommitment?: string }) => {
      const [{ parseProofBundle, verifyBundle }, { loadVerificationKey }, { inputCommitment, isOpening, openingCommitments }] = await Promise.all([
        import('../verify/verify.js'),
        import('../setup/keys.js'),
        import('../commit/open.js'),
      ]);
      const info = readModelInfo(dir);
      const expected = { inputCommitment: opts.inputCommitment, outputCommitment: opts.outputCommitment };
      if (opts.opening) Object.assign(expected, await openingCommitments(info, readJson(opts.opening)));
      if (opts.input) {
        const doc = readJson(opts.input);
        if (isOpening(doc))
          throw new ZkError('INPUT_INVALID', `${opts.input} is an opening file (values and salt, as prove writes it): pass it with --opening`);
        if (opts.salt === undefined) throw new ZkError('INPUT_INVALID', '--input needs the --salt of the commitment');
        expected.inputCommitment = await inputCommitment(info, parseInputs(doc, info.inputs), await salt(opts.salt));
      }
      const verdict = await verifyBundle(info, await loadVerificationKey(dir), parseProofBundle(readJson(proofFile)), expected);
      if (verdict.valid) console.log('valid');
      else {
        console.log(`invalid: ${verdict.reason}`);
        process.exitCode = 1;
      }
    },
  );

program
  .command('audit')
  .argument('[dir]', 'model directory (or use --url and --model)')
  .option('--url <base>', 'a running zkinfer service to download the model from')
  .option('--model <id>', 'the model id on that service')
  .option('--onnx <file>', 'the ONNX file (default: DIR/network.onnx)')
  .option('--calibration <file>', 'the calibration samples the model was compiled with (default: DIR/calibration.json)')
  .option('--ptau <file>', 'the ptau of the keys (default: downloaded with --url, else the development cache)')
  .option('--verifier <file.sol>', 'also check that this Solidity verifier embeds the verifying key')
  .option('--json', 'print the report as JSON')
  .description('check a model\'s keys without trusting who made them (README "Trust"); exit 1 when a check fails')
  .action(
    async (
      dir: string | undefined,
      opts: { url?: string; model?: string; onnx?: string; calibration?: string; ptau?: string; verifier?: string; json?: boolean },
    ) => {
      if (!dir === !opts.url) throw new ZkError('INPUT_INVALID', 'give a model directory, or --url and --model');
      if (opts.url && !opts.model) throw new ZkError('INPUT_INVALID', '--url needs --model');
      const [{ auditModel, formatAudit }, { downloadModel }] = await Promise.all([import('../audit/audit.js'), import('../audit/fetch.js')]);
      const downloaded = opts.url ? await downloadModel(opts.url, opts.model!) : undefined;
      try {
        const report = await auditModel(downloaded?.dir ?? dir!, { ...opts, ptau: opts.ptau ?? downloaded?.ptau, dataDir: dataDir() });
        console.log(opts.json ? JSON.stringify(report, null, 2) : formatAudit(report));
        if (!report.ok) process.exitCode = 1;
      } finally {
        downloaded?.remove();
      }
    },
  );

program
  .command('verifier')
  .argument('<dir>', 'compiled model directory with keys')
  .requiredOption('--out <Verifier.sol>', 'where to write the Solidity verifier')
  .description("export the Solidity verifier of the model's keys, and the consumer contract's parameters")
  .action(async (dir: string, opts: { out: string }) => {
    const { consumerConstructorArgs, consumerParameters, exportSolidityVerifier } = await import('../chain/verifier.js');
    const verifier = await exportSolidityVerifier(dir);
    writeFileSync(opts.out, verifier.source);
    console.log(`${verifier.contractName} (${verifier.system}) written to ${opts.out}: ${verifier.signature} = ${verifier.selector}`);
    // Positionally, in the constructor's order, as forge create --constructor-args and cast take them.
    const args = consumerConstructorArgs(consumerParameters(readModelInfo(dir)), '$VERIFIER').map((a) => (Array.isArray(a) ? `"[${a}]"` : String(a)));
    console.log(`ZkInferConsumer constructor arguments ($VERIFIER: the verifier's address):\n${args.join(' ')}`);
    console.log(`or deploy both: zkinfer deploy ${dir} --rpc URL`);
    await printTrust(dir);
  });

program
  .command('deploy')
  .argument('<dir>', 'compiled model directory with keys')
  .requiredOption('--rpc <url>', 'Ethereum JSON-RPC endpoint')
  .description("deploy the model's verifier and a ZkInferConsumer for it (signs with ZKINFER_DEPLOYER_KEY, else the node's first account)")
  .action(async (dir: string, opts: { rpc: string }) => {
    // Loaded here: viem and solc cost every other command their start-up time.
    const { deployConsumer } = await import('../chain/deploy.js');
    const d = await deployConsumer(dir, { rpc: opts.rpc, privateKey: process.env.ZKINFER_DEPLOYER_KEY || undefined, log: (m) => console.error(m) });
    console.log(`verifier: ${d.verifier}`);
    console.log(`consumer: ${d.consumer}`);
    console.log(`chain ${d.chainId}, from ${d.from}, model id ${d.modelId}`);
    await printTrust(dir);
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
      throw new ZkError(
        'INPUT_INVALID',
        `${proofFile} is a ${bundle.system} proof for key ${bundle.model.vkeyHash.slice(0, 12)}…; ${dir} has ${info.setup ? `${info.setup.system} key ${info.setup.vkeyHash.slice(0, 12)}…` : 'no keys'}`,
      );
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
  .addOption(
    new Option('--reference <source>', "mock mode: compare with each case's output_data or with onnxruntime")
      .choices(['output_data', 'onnxruntime'])
      .default('output_data'),
  )
  .option('--prove', 'compile with circom, set up keys, prove and verify each model (default without --tier: mock every case)')
  .description("run a corpus: mock each case against its output_data or onnxruntime (ONNX's operator suite), or with --prove/--tier prove and verify each")
  .action(
    async (
      corpus: string,
      opts: { tier?: string; only?: string; json?: string; work: string; maxPower?: string; prove?: boolean; reference: 'output_data' | 'onnxruntime' },
    ) => {
      if (!opts.prove && !opts.tier) {
        const { runSuite, suiteTable } = await import('../conformance/suite.js');
        const results = await runSuite(corpus, {
          only: opts.only?.split(','),
          reference: opts.reference,
          log: (c) =>
            console.error(`${c.status.padEnd(7)} ${c.name}${c.fixed ? ` (fixed ${c.fixed.join(', ')})` : ''}${c.reason ? `: ${c.reason.slice(0, 200)}` : ''}`),
        });
        console.log(suiteTable(results));
        if (opts.json) writeFileSync(opts.json, `${JSON.stringify(results, null, 2)}\n`);
        if (results.some((r) => r.status === 'wrong' || r.status === 'error')) process.exitCode = 1;
        return;
      }
      const { runConformance } = await import('../conformance/run.js');
      const maxPower = opts.maxPower === undefined ? undefined : int(opts.maxPower);
      const report = await runConformance({
        corpus,
        tier: opts.tier,
        only: opts.only?.split(','),
        workDir: opts.work,
        dataDir: dataDir(),
        maxPower,
        log: (m) => console.error(m),
      });
      console.log(report.table);
      if (opts.json) writeFileSync(opts.json, `${JSON.stringify(report.results, null, 2)}\n`);
      if (report.results.some((r) => r.status === 'fail' && r.supported)) process.exitCode = 1;
    },
  );

program
  .command('serve')
  .description('run the proof service (HTTP API; configured by environment variables, see README "Service")')
  .action(async () => {
    const [{ startService }, { configFromEnv }] = await Promise.all([import('../service/service.js'), import('../service/config.js')]);
    // Listening before the start: a SIGTERM that lands while starting (or right after the ready
    // line) stops the service cleanly instead of killing it with Node's default action.
    const signalled = untilSignal();
    const service = await startService(configFromEnv());
    await signalled;
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
    const [{ startProverNode }, { configFromEnv }] = await Promise.all([import('../cluster/prover.js'), import('../service/config.js')]);
    const { createLogger } = await import('../service/logger.js');
    const config = configFromEnv();
    const signalled = untilSignal(); // before the start, as serve's
    const node = await startProverNode(config, createLogger({ level: config.logLevel, format: config.logFormat }).child({ node: config.nodeName }));
    await signalled;
    await node.close();
  });

try {
  await program.parseAsync();
} catch (e) {
  if (isZkError(e)) console.error(`error [${e.code}]: ${e.message}\n  see ${e.docs}`);
  // Anything else is a fault of ours or of the system (a file system error, say): its message is what a
  // user can act on; the stack is for a bug report, on request.
  else if (process.env.ZKINFER_DEBUG) console.error(e);
  else console.error(`error: ${(e as Error)?.message ?? e}\n  (ZKINFER_DEBUG=1 prints the stack, for a bug report)`);
  process.exitCode = 1;
} finally {
  // Only a command that used snarkjs has its curve's threads to stop (and snarkjs loaded already).
  if ((globalThis as { curve_bn128?: unknown }).curve_bn128) await (await import('../core/snarkjs.js')).releaseCurve();
}
