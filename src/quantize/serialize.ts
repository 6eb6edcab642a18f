import type { GadgetGroup, IntForm, QuantizedGraph, TableLeaf } from './plan.js';

/** plan.json: the quantized graph with integers as decimal strings (JSON has no bigints). */
type Json<T> = T extends bigint ? string : T extends (infer U)[] ? Json<U>[] : T extends object ? { [K in keyof T]: Json<T[K]> } : T;

const formToJson = (f: IntForm): Json<IntForm> => ({ wires: f.wires, coefs: f.coefs.map(String), bias: String(f.bias) });
const formFromJson = (f: Json<IntForm>): IntForm => ({ wires: f.wires, coefs: f.coefs.map(BigInt), bias: BigInt(f.bias) });
const leafToJson = (l: TableLeaf): Json<TableLeaf> => ({ ...l, c0: String(l.c0), c1: String(l.c1) });
const leafFromJson = (l: Json<TableLeaf>): TableLeaf => ({ ...l, c0: BigInt(l.c0), c1: BigInt(l.c1) });
const opt = <T, U>(v: T | undefined, f: (x: T) => U): U | undefined => (v === undefined ? undefined : f(v));

/**
 * Products, divisions and tables carry bigints beyond their forms; every other kind holds numbers,
 * strings and its input forms only (the Json type fails to check if one gains a bigint).
 */
function groupToJson(g: GadgetGroup): Json<GadgetGroup> {
  if (g.kind === 'product') return { ...g, a: g.a.map(formToJson), b: g.b.map(formToJson) };
  if (g.kind === 'divide') return { ...g, a: g.a.map(formToJson), b: g.b.map(formToJson), bMax: opt(g.bMax, String), qMax: opt(g.qMax, String) };
  if (g.kind === 'table') return { ...g, inputs: g.inputs.map(formToJson), leaves: g.leaves.map(leafToJson), low: String(g.low), high: String(g.high) };
  return { ...g, inputs: g.inputs.map(formToJson) };
}

function groupFromJson(g: Json<GadgetGroup>): GadgetGroup {
  if (g.kind === 'product') return { ...g, a: g.a.map(formFromJson), b: g.b.map(formFromJson) };
  if (g.kind === 'divide') {
    const { bMax, qMax, ...rest } = g;
    return {
      ...rest,
      a: g.a.map(formFromJson),
      b: g.b.map(formFromJson),
      ...(bMax !== undefined ? { bMax: BigInt(bMax) } : {}),
      ...(qMax !== undefined ? { qMax: BigInt(qMax) } : {}),
    };
  }
  if (g.kind === 'table') return { ...g, inputs: g.inputs.map(formFromJson), leaves: g.leaves.map(leafFromJson), low: BigInt(g.low), high: BigInt(g.high) };
  return { ...g, inputs: g.inputs.map(formFromJson) };
}

export function planToJson(g: QuantizedGraph): string {
  return JSON.stringify({
    ...g,
    weights: g.weights.map((w) => ({ ...w, values: w.values.map(String) })),
    groups: g.groups.map(groupToJson),
    outputs: g.outputs.map((o) => ({ ...o, forms: o.forms.map(formToJson) })),
  });
}

export function planFromJson(text: string): QuantizedGraph {
  const j = JSON.parse(text) as Json<QuantizedGraph>;
  return {
    ...j,
    weights: (j.weights ?? []).map((w) => ({ ...w, values: w.values.map(BigInt) })),
    groups: j.groups.map(groupFromJson),
    outputs: j.outputs.map((o) => ({ ...o, forms: o.forms.map(formFromJson) })),
  };
}
