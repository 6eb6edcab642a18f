/**
 * A loopback Ethereum JSON-RPC endpoint over the in-process EVM (support/evm.ts), as much of the
 * protocol as a deployment client needs: chain id, blocks (one per transaction, zero base fee),
 * nonces, gas estimates, raw (signed) and node-signed transactions, receipts, calls and code.
 * Signed transactions are decoded and their sender recovered with viem.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAddressFromString } from '@ethereumjs/util';
import { bytesToHex, hexToBytes } from '@ethereumjs/util';
import { keccak256, parseTransaction, recoverTransactionAddress, type TransactionSerialized } from 'viem';
import { Chain, txGas } from './evm.js';

const CHAIN_ID = 31337;
/** The account `eth_accounts` offers and `eth_sendTransaction` sends from. */
export const NODE_ACCOUNT = '0x00000000000000000000000000000000000c0ffe';

interface Receipt {
  transactionHash: string;
  blockNumber: string;
  from: string;
  to: string | null;
  contractAddress: string | null;
  gasUsed: string;
  status: '0x1' | '0x0';
  logs: unknown[];
}

const hex = (n: number | bigint) => `0x${n.toString(16)}`;

export interface RpcNode {
  url: string;
  chain: Chain;
  /** Every method called, in order. */
  calls: string[];
  close(): Promise<void>;
}

export async function startRpcNode(): Promise<RpcNode> {
  const chain = await Chain.create();
  const evm = chain.evm;
  const receipts = new Map<string, Receipt>();
  const calls: string[] = [];
  let block = 0;

  const nonceOf = async (address: string) => (await evm.stateManager.getAccount(createAddressFromString(address)))?.nonce ?? 0n;

  /** Runs a call without keeping its effects (eth_call, eth_estimateGas). */
  async function dryRun(tx: { from?: string; to?: string; data?: string }) {
    await evm.stateManager.checkpoint();
    try {
      return await evm.runCall({
        caller: createAddressFromString(tx.from ?? NODE_ACCOUNT),
        to: tx.to ? createAddressFromString(tx.to) : undefined,
        data: hexToBytes((tx.data ?? '0x') as `0x${string}`),
        gasLimit: 30_000_000n,
      });
    } finally {
      await evm.stateManager.revert();
    }
  }

  async function execute(hash: string, from: string, to: string | undefined, data: string): Promise<string> {
    const r = await evm.runCall({
      caller: createAddressFromString(from),
      to: to ? createAddressFromString(to) : undefined,
      data: hexToBytes(data as `0x${string}`),
      gasLimit: 30_000_000n,
    });
    block += 1;
    const ok = !r.execResult.exceptionError;
    receipts.set(hash, {
      transactionHash: hash,
      blockNumber: hex(block),
      from,
      to: to ?? null,
      contractAddress: ok && r.createdAddress ? r.createdAddress.toString() : null,
      gasUsed: hex(txGas(data, Number(r.execResult.executionGasUsed), !to)),
      status: ok ? '0x1' : '0x0',
      logs: [],
    });
    return hash;
  }

  const methods: Record<string, (params: any[]) => Promise<unknown>> = {
    eth_chainId: async () => hex(CHAIN_ID),
    net_version: async () => String(CHAIN_ID),
    eth_blockNumber: async () => hex(block),
    eth_getBlockByNumber: async () => ({
      number: hex(block),
      hash: keccak256(`0x${block.toString(16).padStart(64, '0')}`),
      parentHash: `0x${'0'.repeat(64)}`,
      timestamp: hex(1_700_000_000 + block),
      gasLimit: hex(30_000_000),
      gasUsed: '0x0',
      baseFeePerGas: '0x0',
      transactions: [],
      miner: NODE_ACCOUNT,
      difficulty: '0x0',
      extraData: '0x',
      size: '0x0',
      logsBloom: `0x${'0'.repeat(512)}`,
      nonce: '0x0000000000000000',
    }),
    eth_gasPrice: async () => '0x1',
    eth_maxPriorityFeePerGas: async () => '0x1',
    eth_accounts: async () => [NODE_ACCOUNT],
    eth_getTransactionCount: async ([address]) => hex(await nonceOf(address)),
    eth_getCode: async ([address]) => bytesToHex(await evm.stateManager.getCode(createAddressFromString(address))),
    eth_estimateGas: async ([tx]) => {
      const r = await dryRun(tx);
      if (r.execResult.exceptionError) throw new Error(`execution reverted: ${r.execResult.exceptionError.error}`);
      return hex(Math.ceil(txGas(tx.data ?? '0x', Number(r.execResult.executionGasUsed), !tx.to) * 1.2));
    },
    eth_call: async ([tx]) => {
      const r = await dryRun(tx);
      if (r.execResult.exceptionError) throw Object.assign(new Error('execution reverted'), { data: bytesToHex(r.execResult.returnValue) });
      return bytesToHex(r.execResult.returnValue);
    },
    eth_sendRawTransaction: async ([raw]) => {
      const tx = parseTransaction(raw as TransactionSerialized);
      if (tx.chainId !== CHAIN_ID) throw new Error(`chain id ${tx.chainId}, this node is ${CHAIN_ID}`);
      const from = await recoverTransactionAddress({ serializedTransaction: raw as TransactionSerialized });
      if (BigInt(tx.nonce ?? 0) !== (await nonceOf(from))) throw new Error(`nonce ${tx.nonce}, expected ${await nonceOf(from)}`);
      return execute(keccak256(raw), from, tx.to ?? undefined, tx.data ?? '0x');
    },
    eth_sendTransaction: async ([tx]) => {
      if (tx.from.toLowerCase() !== NODE_ACCOUNT) throw new Error(`${tx.from} is not an account of this node`);
      return execute(keccak256(`0x${(await nonceOf(tx.from)).toString(16).padStart(64, '0')}${(tx.data ?? '').slice(2)}`), tx.from, tx.to, tx.data ?? '0x');
    },
    eth_getTransactionReceipt: async ([hash]) => {
      const r = receipts.get(hash);
      return (
        r && {
          ...r,
          blockHash: keccak256(r.blockNumber as `0x${string}`),
          transactionIndex: '0x0',
          cumulativeGasUsed: r.gasUsed,
          effectiveGasPrice: '0x1',
          type: '0x2',
          logsBloom: `0x${'0'.repeat(512)}`,
        }
      );
    },
  };

  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', async () => {
      const request = JSON.parse(body);
      const answer = async (r: { id: unknown; method: string; params?: unknown[] }) => {
        calls.push(r.method);
        const method = methods[r.method];
        if (!method) return { jsonrpc: '2.0', id: r.id, error: { code: -32601, message: `method ${r.method} not supported` } };
        try {
          return { jsonrpc: '2.0', id: r.id, result: (await method(r.params ?? [])) ?? null };
        } catch (e) {
          return { jsonrpc: '2.0', id: r.id, error: { code: 3, message: (e as Error).message, data: (e as { data?: string }).data } };
        }
      };
      const out = Array.isArray(request) ? await Promise.all(request.map(answer)) : await answer(request);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, chain, calls, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
