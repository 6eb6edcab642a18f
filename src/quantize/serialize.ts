import type { GadgetGroup, IntForm, QuantizedGraph } from './plan.js';

/** plan.json: the quantized graph with integers as decimal strings (JSON has no bigints). */
type Json<T> = T extends bigint ? string : T extends (infer U)[] ? Json<U>[] : T extends object ? { [K in keyof T]: Json<T[K]> } : T;

const formToJson = (f: IntForm): Json<IntForm> => ({ wires: f.wires, coefs: f.coefs.map(String), bias: String(f.bias) });
const formFromJson = (f: Json<IntForm>): IntForm => ({ wires: f.wires, coefs: f.coefs.map(BigInt), bias: BigInt(f.bias) });

export function planToJson(g: QuantizedGraph): string {
  const groups = g.groups.map((grp) =>
    grp.kind === 'shift' ? { ...grp, inputs: grp.inputs.map(formToJson) } : { ...grp, a: grp.a.map(formToJson), b: grp.b.map(formToJson) },
  );
  return JSON.stringify({ ...g, groups, outputs: g.outputs.map((o) => ({ ...o, forms: o.forms.map(formToJson) })) });
}

export function planFromJson(text: string): QuantizedGraph {
  const j = JSON.parse(text) as Json<QuantizedGraph>;
  const groups = j.groups.map((grp): GadgetGroup =>
    grp.kind === 'shift' ? { ...grp, inputs: grp.inputs.map(formFromJson) } : { ...grp, a: grp.a.map(formFromJson), b: grp.b.map(formFromJson) },
  );
  return { ...j, groups, outputs: j.outputs.map((o) => ({ ...o, forms: o.forms.map(formFromJson) })) };
}
