/**
 * Compiling the contracts zkinfer ships (a model's verifier, contracts/ZkInferConsumer.sol) with
 * solc from npm (WebAssembly: no download, no native binary).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ZkError } from '../core/errors.js';

/** The EVM version solc targets (and the test EVM runs). */
export const EVM_VERSION = 'prague';

const solc = createRequire(import.meta.url)('solc') as { compile(input: string): string; version(): string };

export interface CompiledContract {
  abi: unknown[];
  bytecode: `0x${string}`;
  /** The runtime code a deployment leaves on chain (what EIP-170 limits). */
  deployedBytecode: `0x${string}`;
}

/** contracts/ZkInferConsumer.sol of this package. */
export const consumerSource = (): string => readFileSync(fileURLToPath(new URL('../../../contracts/ZkInferConsumer.sol', import.meta.url)), 'utf8');

/** Compiles Solidity sources (file name → text) with the optimizer on; throws INTERNAL with solc's errors. */
export function compileSolidity(sources: Record<string, string>): Record<string, CompiledContract> {
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(Object.entries(sources).map(([name, content]) => [name, { content }])),
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: EVM_VERSION,
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length) throw new ZkError('INTERNAL', `solc ${solc.version()}:\n${errors.map((e) => e.formattedMessage).join('\n')}`);
  const out: Record<string, CompiledContract> = {};
  for (const file of Object.values(output.contracts)) {
    for (const [name, c] of Object.entries(file))
      out[name] = { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}`, deployedBytecode: `0x${c.evm.deployedBytecode.object}` };
  }
  return out;
}
