/**
 * Deploying a model's verifier and a ZkInferConsumer bound to it through any Ethereum JSON-RPC node
 * (viem): compile both with solc, deploy the verifier, then the consumer with the verifier's address
 * and the model's parameters. Transactions are signed locally with a private key, or, without one,
 * sent from the node's first account (`eth_sendTransaction`, as development nodes allow).
 */
import { createPublicClient, createWalletClient, defineChain, http, type Abi, type Account, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { ZkError } from '../core/errors.js';
import { readModelInfo } from '../model/layout.js';
import { compileSolidity, consumerSource, type CompiledContract } from './solidity.js';
import { consumerConstructorArgs, consumerParameters, exportSolidityVerifier } from './verifier.js';

export interface Deployment {
  chainId: number;
  from: Address;
  verifier: Address;
  consumer: Address;
  /** The consumer's model id (the verifying key's sha256). */
  modelId: string;
}

/** Deploys the verifier of a set-up model directory and a consumer for it; `log` hears each step. */
export async function deployConsumer(dir: string, opts: { rpc: string; privateKey?: string; log?: (message: string) => void }): Promise<Deployment> {
  const log = opts.log ?? (() => {});
  const params = consumerParameters(readModelInfo(dir));
  const verifierSource = await exportSolidityVerifier(dir);
  const compiled = compileSolidity({ 'Verifier.sol': verifierSource.source, 'ZkInferConsumer.sol': consumerSource() });

  const transport = http(opts.rpc, { retryCount: 0 });
  const reader = createPublicClient({ transport, pollingInterval: 250 });
  const chainId = await reader.getChainId().catch((e: Error) => {
    throw new ZkError('UNAVAILABLE', `no Ethereum JSON-RPC node answers at ${opts.rpc}: ${e.message.split('\n')[0]}`);
  });
  const chain = defineChain({
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [opts.rpc] } },
  });
  const account: Account | Address = opts.privateKey ? privateKeyToAccount(parseKey(opts.privateKey)) : await nodeAccount(opts.rpc);
  const wallet = createWalletClient({ account, chain, transport });
  const from = typeof account === 'string' ? account : account.address;

  const deploy = async (name: string, contract: CompiledContract, args: readonly unknown[]): Promise<Address> => {
    const hash = await wallet.deployContract({ abi: contract.abi as Abi, bytecode: contract.bytecode, args, account, chain });
    log(`${name}: transaction ${hash}`);
    const receipt = await reader.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success' || !receipt.contractAddress)
      throw new ZkError('INTERNAL', `deploying ${name} failed (transaction ${hash}, status ${receipt.status})`);
    return receipt.contractAddress;
  };
  const verifier = await deploy(verifierSource.contractName, compiled[verifierSource.contractName], []);
  log(`${verifierSource.contractName} deployed at ${verifier}`);
  const consumer = await deploy('ZkInferConsumer', compiled.ZkInferConsumer, consumerConstructorArgs(params, verifier));
  log(`ZkInferConsumer deployed at ${consumer}`);
  return { chainId, from, verifier, consumer, modelId: params.modelId };
}

function parseKey(key: string): Hex {
  const hex = key.startsWith('0x') ? key : `0x${key}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) throw new ZkError('INPUT_INVALID', 'the deployer key must be 32 bytes of hex');
  return hex as Hex;
}

async function nodeAccount(rpc: string): Promise<Address> {
  const [first] = await createWalletClient({ transport: http(rpc, { retryCount: 0 }) }).getAddresses();
  if (!first) throw new ZkError('INPUT_INVALID', 'the node has no unlocked account: set ZKINFER_DEPLOYER_KEY to a funded private key');
  return first;
}
