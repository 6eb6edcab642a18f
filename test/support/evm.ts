/**
 * A real EVM in-process for the on-chain tests and the benchmark: solc (npm, WebAssembly) compiles,
 * @ethereumjs/evm runs. No node, no network; gas is the EVM's own count.
 */
import { Common, type Hardfork, Mainnet } from '@ethereumjs/common';
import { createEVM, type EVM } from '@ethereumjs/evm';
import { type Address, bytesToHex, createAddressFromString, hexToBytes } from '@ethereumjs/util';
import { keccak_256 } from '@noble/hashes/sha3';
import { EVM_VERSION } from '../../src/chain/solidity.js';
import { selectorOf } from '../../src/chain/verifier.js';
import { consumerConstructorArgs, consumerParameters } from '../../src/chain/abi.js';
import type { ModelInfo } from '../../src/model/layout.js';

/** The hardfork both sides agree on: solc's target and the EVM's rules (calldata floor of EIP-7623). */
const HARDFORK = EVM_VERSION;
/** EIP-170 and EIP-3860: the largest deployable code and init code. */
export const MAX_CODE_BYTES = 24_576;
export const MAX_INITCODE_BYTES = 49_152;

export { compileSolidity, consumerSource, type CompiledContract } from '../../src/chain/solidity.js';

export interface CallResult {
  /** Whether the call succeeded (no revert, no exceptional halt). */
  ok: boolean;
  returnValue: string;
  /** Gas spent by execution alone. */
  executionGas: number;
  /** What a transaction carrying this call would pay: execution + intrinsic (base, calldata, creation). */
  txGas: number;
  /** Revert reason or EVM error when not ok. */
  error?: string;
  logs: { topics: string[]; data: string }[];
}

export class Chain {
  private constructor(readonly evm: EVM) {}

  /**
   * `unlimitedCodeSize` lifts EIP-170/3860 (24 KiB of code, 48 KiB of init code), to measure the gas
   * of verifiers too large for mainnet (e.g. Groth16 with hundreds of public signals).
   */
  static async create(opts: { unlimitedCodeSize?: boolean } = {}): Promise<Chain> {
    const unlimited = opts.unlimitedCodeSize ?? false;
    const common = new Common({ chain: Mainnet, hardfork: HARDFORK as Hardfork });
    return new Chain(await createEVM({ common, allowUnlimitedContractSize: unlimited, allowUnlimitedInitCodeSize: unlimited }));
  }

  readonly sender = createAddressFromString('0x00000000000000000000000000000000000c0ffe');

  /** Deploys init code (bytecode + encoded constructor arguments); throws when creation fails. */
  async deploy(bytecode: string, constructorArgs = '0x'): Promise<{ address: string; gas: CallResult; codeBytes: number; initCodeBytes: number }> {
    const data = bytecode + constructorArgs.slice(2);
    const r = await this.evm.runCall({ caller: this.sender, data: hexToBytes(data as `0x${string}`), gasLimit: 100_000_000n });
    const result = this.result(r.execResult, data, true);
    if (!result.ok || !r.createdAddress) throw new Error(`deployment failed: ${result.error}`);
    // A creation returns the code it deploys.
    return { address: r.createdAddress.toString(), gas: result, codeBytes: r.execResult.returnValue.length, initCodeBytes: (data.length - 2) / 2 };
  }

  /** A state-changing call from `sender` (a transaction's execution, without the signature). */
  async call(to: string, data: string): Promise<CallResult> {
    const r = await this.evm.runCall({
      caller: this.sender,
      to: createAddressFromString(to) as Address,
      data: hexToBytes(data as `0x${string}`),
      gasLimit: 100_000_000n,
    });
    return this.result(r.execResult, data, false);
  }

  private result(exec: Awaited<ReturnType<EVM['runCall']>>['execResult'], data: string, create: boolean): CallResult {
    const executionGas = Number(exec.executionGasUsed);
    const returnValue = bytesToHex(exec.returnValue);
    const error = exec.exceptionError ? `${exec.exceptionError.error}${revertReason(returnValue)}` : undefined;
    const logs = (exec.logs ?? []).map(([, topics, body]) => ({ topics: topics.map(bytesToHex), data: bytesToHex(body) }));
    return { ok: !exec.exceptionError, returnValue, executionGas, txGas: txGas(data, executionGas, create), error, logs };
  }
}

/**
 * Prague's transaction cost: 21000 (+32000 and 2 per init code word for a creation), calldata at 4
 * gas per token (a zero byte is 1 token, any other 4) plus execution, but at least the EIP-7623
 * floor of 10 gas per token.
 */
export function txGas(data: string, executionGas: number, create: boolean): number {
  const bytes = hexToBytes(data as `0x${string}`);
  const tokens = bytes.reduce((t, b) => t + (b === 0 ? 1 : 4), 0);
  const base = 21_000 + (create ? 32_000 + 2 * Math.ceil(bytes.length / 32) : 0);
  return base + Math.max(4 * tokens + executionGas, 10 * tokens);
}

/** solc custom errors and `require` strings come back as ABI data; name the selector at least. */
function revertReason(returnValue: string): string {
  return returnValue.length >= 10 ? ` (${returnValue.slice(0, 10)})` : '';
}

// ---------------------------------------------------------------------------------------------
// ABI encoding, only as much as the tests need: static words, and dynamic uint256[] arguments
// ---------------------------------------------------------------------------------------------

export type AbiValue = bigint | string | AbiValue[] | { array: (bigint | string)[] };

export const keccakHex = (hex: string): string => `0x${Buffer.from(keccak_256(hexToBytes(hex as `0x${string}`))).toString('hex')}`;

const word = (v: bigint | string): string => BigInt.asUintN(256, BigInt(v)).toString(16).padStart(64, '0');

/**
 * Encodes arguments: a bigint or numeric string is one word; a (nested) JS array is a fixed-size
 * array, inline; `{ array }` is a dynamic uint256[], in the tail. A bytes4/bytes32 given as 0x…
 * hex is left-aligned when shorter than a word.
 */
export function encodeArgs(args: AbiValue[]): string {
  const heads: string[] = [];
  const tails: string[] = [];
  const headSize = args.reduce<number>((s, a) => s + 32 * staticWords(a), 0);
  let tailOffset = headSize;
  for (const a of args) {
    if (typeof a === 'object' && !Array.isArray(a)) {
      heads.push(word(BigInt(tailOffset)));
      const body = word(BigInt(a.array.length)) + a.array.map(word).join('');
      tails.push(body);
      tailOffset += body.length / 2;
    } else heads.push(encodeStatic(a));
  }
  return `0x${heads.join('')}${tails.join('')}`;
}

function staticWords(a: AbiValue): number {
  if (Array.isArray(a)) return a.reduce<number>((s, x) => s + staticWords(x), 0);
  return 1;
}

function encodeStatic(a: AbiValue): string {
  if (Array.isArray(a)) return a.map(encodeStatic).join('');
  if (typeof a === 'string' && /^0x[0-9a-fA-F]{8}$/.test(a)) return a.slice(2).padEnd(64, '0'); // bytes4
  return word(a as bigint | string);
}

export const call = (signature: string, args: AbiValue[]): string => selectorOf(signature) + encodeArgs(args).slice(2);

/** Reads `int256[]` returned alone (offset, length, elements). */
export function decodeInt256Array(hex: string): bigint[] {
  const words = (hex.slice(2).match(/.{64}/g) ?? []).map((w) => BigInt.asIntN(256, BigInt(`0x${w}`)));
  const length = Number(words[1]);
  return words.slice(2, 2 + length);
}

/**
 * ZkInferConsumer's constructor arguments for a model, ABI-encoded: the product's own order
 * (consumerConstructorArgs, as `zkinfer deploy` uses it), numbers as words.
 */
export function encodeConsumerArgs(info: ModelInfo, verifier: string): string {
  const toAbi = (v: string | number | readonly number[]): AbiValue => (typeof v === 'number' ? BigInt(v) : typeof v === 'string' ? v : v.map(BigInt));
  return encodeArgs(consumerConstructorArgs(consumerParameters(info), verifier).map(toAbi));
}
