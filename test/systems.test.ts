/**
 * The proof-system registry (src/systems/): every name has its module, each module is the system
 * it is registered as, and what it names in snarkjs (templates) exists. The systems themselves are
 * exercised end to end by setup.test.ts (keys, proofs) and onchain.test.ts (verifiers on the EVM).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verifierTemplates } from '../src/chain/verifier.js';
import { PROOF_SYSTEMS } from '../src/core/systems.js';
import { requiredPower } from '../src/setup/index.js';
import { PROOF_SYSTEM } from '../src/systems/index.js';

test('every proof system has one module, registered under its own name, with a schema of its protocol', () => {
  assert.deepEqual(Object.keys(PROOF_SYSTEM).sort(), [...PROOF_SYSTEMS].sort());
  for (const name of PROOF_SYSTEMS) {
    const system = PROOF_SYSTEM[name];
    assert.equal(system.name, name);
    assert.equal(system.proofSchema.shape.protocol.value, name);
    assert.match(system.solidity.signature(3), /^verifyProof\(.*\)$/);
  }
});

test("every system's Solidity template is installed with snarkjs and declares the system's contract", () => {
  const templates = verifierTemplates();
  for (const name of PROOF_SYSTEMS) assert.match(templates[name], new RegExp(`contract ${PROOF_SYSTEM[name].solidity.contract}\\b`));
});

test('a system that sizes by PLONK gates refuses to size without them', () => {
  for (const name of PROOF_SYSTEMS) {
    const size = () => requiredPower(1000, 4, name);
    if (PROOF_SYSTEM[name].countsPlonkGates) assert.throws(size, /needs the PLONK gate count/);
    else assert.equal(size(), 10);
  }
});
