/**
 * `zkinfer verifier` prints ZkInferConsumer's constructor arguments positionally, and `zkinfer
 * deploy` deploys the verifier and a consumer through a JSON-RPC node: here a loopback endpoint over
 * the in-process EVM (support/rpc.ts), signing locally with a key or sending from the node's account.
 * The deployed consumer then takes the model's proof.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { decodeFunctionResult, encodeFunctionData, type Abi } from 'viem';
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts';
import { solidityCalldata } from '../src/chain/calldata.js';
import { consumerConstructorArgs, consumerParameters } from '../src/chain/verifier.js';
import { releaseCurve } from '../src/core/snarkjs.js';
import { compileModel } from '../src/model/compile.js';
import type { ModelInfo } from '../src/model/layout.js';
import { setupModel } from '../src/model/setup.js';
import type { ProofBundle } from '../src/prove/bundle.js';
import { ModelProver } from '../src/prove/prover.js';
import { mlp } from '../scripts/example-models.js';
import { compileSolidity, consumerSource } from './support/evm.js';
import { REPO_ROOT, TEST_DATA_DIR, tempDir } from './support/env.js';
import { NODE_ACCOUNT, type RpcNode, startRpcNode } from './support/rpc.js';

const run = promisify(execFile);
/** The CLI as a separate process (async: the RPC node answers from this process's event loop). */
async function zkinfer(args: string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [join(REPO_ROOT, 'bin/zkinfer.js'), ...args], {
    env: { ...process.env, ZKINFER_DATA_DIR: TEST_DATA_DIR, ...env },
    timeout: 180_000,
  });
}

const dir = join(tempDir('deploy'), 'model');
let info: ModelInfo;
let bundle: ProofBundle;
let node: RpcNode;
const abi = compileSolidity({ 'ZkInferConsumer.sol': consumerSource() }).ZkInferConsumer.abi as Abi;

before(async () => {
  await compileModel(mlp([3, 3, 2], 5), dir, { name: 'deployed' });
  info = await setupModel(dir, { dataDir: TEST_DATA_DIR, log: () => {} });
  bundle = await (await ModelProver.load(dir)).prove([[0.5, -0.25, 0.75]]);
  node = await startRpcNode();
});

after(async () => {
  await node?.close();
  await releaseCurve();
});

const rpc = async (method: string, params: unknown[]) => {
  const res = await (
    await fetch(node.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })
  ).json();
  if (res.error) throw new Error(res.error.message);
  return res.result;
};
const read = async (address: string, functionName: string, args: unknown[] = []) =>
  decodeFunctionResult({ abi, functionName, data: await rpc('eth_call', [{ to: address, data: encodeFunctionData({ abi, functionName, args }) }, 'latest']) });

test("zkinfer verifier prints the consumer's constructor arguments in the constructor's order", async () => {
  const { stdout } = await zkinfer(['verifier', dir, '--out', join(dir, 'Verifier.sol')]);
  const line = stdout.split('\n')[2];
  const p = consumerParameters(info);
  assert.equal(
    line,
    `$VERIFIER ${p.selector} ${p.proofWords} ${p.publicSignals} ${p.outputs} ${p.scale} ${p.modelId} "[${p.inputRange}]" ${p.modelCommitment} ${p.modelCommitmentIndex} ${p.versionId}`,
  );
  // The constructor's own parameter list, from solc's ABI, has the same arity and order of types.
  const ctor = abi.find((x) => x.type === 'constructor') as unknown as { inputs: { name: string }[] };
  assert.deepEqual(
    ctor.inputs.map((i) => i.name),
    [
      'verifier_',
      'verifySelector_',
      'proofWords_',
      'publicSignalCount_',
      'outputCount_',
      'scale_',
      'modelId_',
      'inputRange_',
      'modelCommitment_',
      'modelCommitmentIndex_',
      'versionId_',
    ],
  );
  assert.equal(consumerConstructorArgs(p, '0x01').length, ctor.inputs.length);
  // Whoever deploys it learns whose key the verifier holds: here the operator's alone.
  assert.match(stdout, /trusted: the operator alone\n +WARNING: operator-only key/);
});

test('zkinfer deploy: a verifier and a consumer through JSON-RPC, signed with a key; the consumer takes the proof', async () => {
  const key = generatePrivateKey();
  const { stdout } = await zkinfer(['deploy', dir, '--rpc', node.url], { ZKINFER_DEPLOYER_KEY: key });
  const verifier = /^verifier: (0x[0-9a-fA-F]{40})$/m.exec(stdout)![1];
  const consumer = /^consumer: (0x[0-9a-fA-F]{40})$/m.exec(stdout)![1];
  assert.match(stdout, new RegExp(`chain 31337, from ${privateKeyToAddress(key)}, model id ${consumerParameters(info).modelId}`));
  assert.match(stdout, new RegExp(`model version id: ${info.setup!.versionId}\n +trusted: the operator alone\n +WARNING: operator-only key`));
  assert.ok(node.calls.includes('eth_sendRawTransaction'), 'signed locally');
  assert.equal(((await read(consumer, 'verifier')) as string).toLowerCase(), verifier.toLowerCase());
  assert.equal(await read(consumer, 'modelId'), consumerParameters(info).modelId);
  const calldata = await solidityCalldata(bundle);
  const output = (await read(consumer, 'submit', [
    consumerParameters(info).modelId,
    calldata.proof.map(BigInt),
    calldata.publicSignals.map(BigInt),
  ])) as bigint[];
  assert.deepEqual(output.map(String), bundle.outputs[0].integers);
});

test("zkinfer deploy without a key sends from the node's account; a dead endpoint is a clear error", async () => {
  const { stdout } = await zkinfer(['deploy', dir, '--rpc', node.url]);
  assert.match(stdout, new RegExp(`from ${NODE_ACCOUNT}`, 'i'));
  assert.ok(node.calls.includes('eth_sendTransaction'));
  await assert.rejects(zkinfer(['deploy', dir, '--rpc', 'http://127.0.0.1:9']), (e: { stderr: string }) =>
    /UNAVAILABLE.*no Ethereum JSON-RPC node answers at http:\/\/127.0.0.1:9/.test(e.stderr),
  );
});
