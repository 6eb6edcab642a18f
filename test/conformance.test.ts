import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runConformance } from '../src/conformance/run.js';
import { releaseCurve } from '../src/core/snarkjs.js';
import { modelFiles } from '../src/model/layout.js';
import { CORPUS, TEST_DATA_DIR, TEST_PTAU_POWER, tempDir } from './support/env.js';
import { unsupportedModel } from './support/op-check.js';

after(() => releaseCurve());

const tiers = JSON.parse(readFileSync(join(CORPUS, '..', 'tiers.json'), 'utf8')) as Record<string, string[]>;

/**
 * The regression gate: every core and extended model whose circuit fits the suite's ptau must
 * compile, prove, verify and match onnxruntime within its tolerance. The few that need a larger ptau
 * (generating one costs minutes) are skipped here and run by `zkinfer conformance`.
 */
/** How many models of each tier need a ptau above the suite's today; more would be a size regression. */
const MAX_SKIPPED: Record<string, number> = { core: 2, extended: 6 };

for (const tier of ['core', 'extended']) {
  test(`conformance: the ${tier} tier passes (models within ptau power ${TEST_PTAU_POWER})`, async (t) => {
    const { results, table } = await runConformance({
      corpus: CORPUS,
      only: tiers[tier],
      workDir: tempDir(`conf-${tier}`),
      dataDir: TEST_DATA_DIR,
      maxPower: TEST_PTAU_POWER,
    });
    t.diagnostic(table.split('\n').at(-1)!);
    assert.equal(results.length, tiers[tier].length);
    for (const r of results) {
      assert.notEqual(r.status, 'fail', `${r.model}: ${r.reason}\n${table}`);
      if (r.status === 'pass') assert.ok(r.maxAbsError! <= r.tolerance!);
    }
    const skipped = results.filter((r) => r.status === 'skipped').length;
    assert.ok(skipped <= MAX_SKIPPED[tier], `${skipped} models outgrew ptau power ${TEST_PTAU_POWER}\n${table}`);
  });
}

test('an unsupported model fails with the node and op named, not a crash', async () => {
  const corpus = tempDir('conf-unsupported');
  mkdirSync(join(corpus, 'det'));
  writeFileSync(join(corpus, 'det', 'network.onnx'), unsupportedModel());
  writeFileSync(join(corpus, 'det', 'input.json'), JSON.stringify({ input_data: [[1, 2, 3, 4]] }));
  const { results } = await runConformance({ corpus, workDir: tempDir('conf-seq'), dataDir: TEST_DATA_DIR });
  assert.equal(results[0].status, 'fail');
  assert.equal(results[0].supported, false);
  assert.match(results[0].reason!, /\(Det\)/);
});

test('a model whose plan needs a ptau above --max-power is skipped before circom runs, with the power it needs', async () => {
  const workDir = tempDir('conf-cap');
  const { results } = await runConformance({ corpus: CORPUS, only: ['1l_mlp'], workDir, dataDir: TEST_DATA_DIR, maxPower: 4 });
  assert.equal(results[0].status, 'skipped');
  assert.match(results[0].reason!, /^needs a ptau of power \d+ \(counted from the plan, before circom\), this run allows 4$/);
  assert.equal(existsSync(modelFiles(join(workDir, '1l_mlp')).r1cs), false, 'circom never ran');
});
