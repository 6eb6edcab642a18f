/**
 * Whole compiled models for the soundness suites, with witnesses built the way the prover builds
 * them: fixed-point inputs → witnessInput (src/prove/engine.ts, the prover's own input map) → the
 * model's compiled witness calculator. The circuit's outputs are checked against the reference
 * evaluator (evaluate, which quantizeForPlan runs for the prover and the service).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { placeSegments } from '../../src/commit/public.js';
import { FIELD_PRIME, buildWitnessCalculator, toSigned, type WitnessCalculator } from '../../src/core/snarkjs.js';
import { quantizeInputs } from '../../src/io/input.js';
import { type CompileOptions, compileModel } from '../../src/model/compile.js';
import { type ModelInfo, modelFiles, readModelInfo } from '../../src/model/layout.js';
import { witnessInput } from '../../src/prove/engine.js';
import { evaluate } from '../../src/quantize/evaluate.js';
import type { QuantizedGraph } from '../../src/quantize/plan.js';
import { planFromJson } from '../../src/quantize/serialize.js';
import { namesByIndex, nonConstantIndices, quietly, readR1cs, readSymbols, singleTamperSurvivors, tamperedWitnessesFail } from './witness.js';

/** A model compiled into `dir` (model.json, plan.json, the circuit), with its witness calculator. */
export interface CompiledModel {
  label: string;
  dir: string;
  info: ModelInfo;
  plan: QuantizedGraph;
  wasm: WitnessCalculator;
}

/** Compiles `onnx` into `dir` with compileModel (named `label`) and loads its plan and witness calculator. */
export async function compileWhole(label: string, onnx: Uint8Array, dir: string, options: CompileOptions = {}): Promise<CompiledModel> {
  await compileModel(onnx, dir, { ...options, name: label });
  return loadCompiled(label, dir);
}

/** A compiled model directory's model.json, plan and witness calculator. */
export async function loadCompiled(label: string, dir: string): Promise<CompiledModel> {
  const files = modelFiles(dir);
  return {
    label,
    dir,
    info: readModelInfo(dir),
    plan: planFromJson(readFileSync(files.plan, 'utf8')),
    wasm: await buildWitnessCalculator(readFileSync(files.wasm)),
  };
}

/** Float inputs (one flat array per graph input) → fixed point at the plan's input scales, unchecked: out-of-range values stay. */
export const fixedPoint = (m: CompiledModel, values: readonly number[][]): bigint[][] =>
  quantizeInputs(
    values,
    m.plan.inputs.map((i) => i.scale),
    m.plan.inputs.map((i) => i.name),
  );

/** The witness calculator's input for fixed-point inputs (and the salt of hashed tensors), exactly as the prover builds it. */
export const witnessInputOf = (m: CompiledModel, ints: readonly (readonly bigint[])[], salt?: bigint) => witnessInput(m.info, m.plan, ints, salt);

/** The full witness of fixed-point inputs; rejects where the circuit has no witness for them. */
export const modelWitness = (m: CompiledModel, ints: readonly (readonly bigint[])[], salt?: bigint): Promise<bigint[]> =>
  m.wasm.calculateWitness(witnessInputOf(m, ints, salt), true);

/**
 * The honest witness of fixed-point inputs, checked against the public layout model.json declares:
 * each public output holds the evaluator's values and each public input the given ones, where
 * placeSegments puts them (after entry 0, the constant 1).
 */
export async function honestWitness(m: CompiledModel, ints: bigint[][], salt?: bigint): Promise<bigint[]> {
  const w = await modelWitness(m, ints, salt);
  const outputs = evaluate(m.plan, ints, { checkRanges: true }).outputs;
  for (const seg of placeSegments(m.info.publicLayout)) {
    if (seg.kind !== 'output' && seg.kind !== 'input') continue;
    const expected = seg.kind === 'output' ? outputs[seg.index] : ints[seg.index];
    assert.deepEqual(w.slice(1 + seg.at, 1 + seg.at + seg.size).map(toSigned), expected, `${m.label}: public ${seg.kind} ${seg.index}`);
  }
  return w;
}

/** Witness index → signal name(s) from the model's main.sym, for readable failures. */
export const signalNames = (m: CompiledModel): Map<number, string> => namesByIndex(readSymbols(join(modelFiles(m.dir).buildDir, 'main.sym')));

/**
 * Exhaustive single-entry tampering by the direct R1CS evaluator, and snarkjs on the public signals
 * and a sample. A changed public input may survive only when it is another honest statement: the
 * tampered witness must then be exactly the witness of the changed input (And(p, 0) does not read p).
 */
export async function tamperProof(m: CompiledModel, w: bigint[]): Promise<number> {
  const files = modelFiles(m.dir);
  const names = signalNames(m);
  const all = nonConstantIndices(w.length);
  const outputs = m.info.outputs.reduce((s, o) => s + o.dims.reduce((a, b) => a * b, 1), 0);
  const survivors = singleTamperSurvivors(readR1cs(files.r1cs), w, all);
  const forged: number[] = [];
  for (const i of survivors) {
    if (i <= outputs || i > m.info.publicSignals) {
      forged.push(i);
      continue;
    }
    const tampered = [...w];
    tampered[i] = (w[i] + 1n) % FIELD_PRIME;
    const flat = tampered.slice(1 + outputs, 1 + m.info.publicSignals);
    const ints: bigint[][] = [];
    let at = 0;
    for (const inp of m.info.inputs) {
      const n = inp.dims.reduce((a, b) => a * b, 1);
      ints.push(flat.slice(at, at + n).map(toSigned));
      at += n;
    }
    let honest: bigint[] | undefined;
    try {
      honest = await quietly(() => modelWitness(m, ints));
    } catch {
      honest = undefined;
    }
    if (!honest || honest.some((v, k) => v !== tampered[k])) forged.push(i);
  }
  assert.deepEqual(
    forged.map((i) => `${i} (${names.get(i)})`),
    [],
    `${m.label}: unconstrained witness entries`,
  );
  const stride = Math.max(1, Math.ceil((w.length - 1 - m.info.publicSignals) / 40));
  const sample = all.filter((i) => (i <= m.info.publicSignals || (i - m.info.publicSignals) % stride === 0) && !survivors.includes(i));
  await tamperedWitnessesFail(files.r1cs, w, sample, names);
  return all.length;
}
