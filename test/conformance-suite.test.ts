/**
 * ONNX's operator suite in mock mode: a fixed sample with every op type of the suite at least once
 * (the first case, by name, that uses it), each against its output_data. No case may be wrong (a
 * plan whose output is beyond its stated tolerance, or whose witness breaks a constraint, while the
 * compile succeeded) or crash; refusals must name their reason. The whole suite runs with
 * `zkinfer conformance ../shared/onnx-node` (README: Conformance).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runSuite, suiteTable } from '../src/conformance/suite.js';
import { ONNX_NODE } from './support/env.js';

/** The first case (by name) of every op type in the suite. */
function sample(): string[] {
  const seen = new Set<string>();
  const chosen: string[] = [];
  for (const name of readdirSync(ONNX_NODE)
    .filter((n) => existsSync(join(ONNX_NODE, n, 'input.json')))
    .sort()) {
    const ops = (JSON.parse(readFileSync(join(ONNX_NODE, name, 'input.json'), 'utf8')) as { ops?: string[] }).ops ?? [];
    if (ops.some((op) => !seen.has(op))) {
      ops.forEach((op) => seen.add(op));
      chosen.push(name);
    }
  }
  return chosen;
}

test('operator suite sample (every op at least once): no wrong case, no crash, every refusal named', async (t) => {
  const only = sample();
  const results = await runSuite(ONNX_NODE, { only });
  const table = suiteTable(results);
  t.diagnostic(table.split('\n').at(-1)!);
  assert.equal(results.length, only.length);
  for (const r of results) {
    assert.notEqual(r.status, 'wrong', `${r.name}: ${r.reason}`);
    assert.notEqual(r.status, 'error', `${r.name}: ${r.reason}`);
    if (r.status === 'refused') assert.ok(r.code && r.reason, `${r.name}: refused without a reason`);
  }
  // Today's floor: fewer passing cases would be a regression.
  assert.ok(results.filter((r) => r.status === 'pass').length >= 56, table);
});
