import type { OnnxGraph, OnnxNode } from './graph.js';

/**
 * Monotone activations that commute with a max: f(max S) = max f(S) for any non-empty S, in floats
 * and in the plan's integers alike (a Relu or Clip is a rounding shift then a clamp, both monotone
 * in the integer it is given). LeakyRelu is monotone too but not in integers: its output form
 * α·x + (1 − α)·relu(x) is quantized coefficient by coefficient, so it stays where it is.
 */
const COMMUTES_WITH_MAX = new Set(['Relu', 'Clip']);
const MAX_POOLS = new Set(['MaxPool', 'GlobalMaxPool']);

/**
 * Rewrites every `activation → MaxPool` (activation in COMMUTES_WITH_MAX) into `MaxPool → activation`
 * where nothing else reads the activation's output: the pool's window maxima are taken first, so the
 * activation (and the rescale that comes with it) runs once per pooled value instead of once per
 * value — a 2×2 pool pays for a quarter of the ReLUs, and its output is one wire where it was a
 * form over the window's maxima. The graph computes the same function (f∘max = max∘f); node names
 * are kept, so errors and per-layer counts still name the model's nodes, and the value between the
 * two nodes gets a new name. The pool then takes its maxima exactly (see MaxPool in ops/pool.ts),
 * so the plan's integers are the same as without the rewrite. Nodes that feed a graph output, a
 * second consumer or MaxPool's Indices output are left alone. Returns the graph unchanged (the same
 * object) when nothing applies.
 */
export function poolBeforeActivation(graph: OnnxGraph): OnnxGraph {
  let nodes = graph.nodes;
  for (;;) {
    const next = swapOnce(nodes, new Set(graph.outputs.map((o) => o.name)));
    if (!next) return nodes === graph.nodes ? graph : { ...graph, nodes };
    nodes = next;
  }
}

/** One swap of the first eligible pair, or undefined when there is none. */
function swapOnce(nodes: readonly OnnxNode[], graphOutputs: ReadonlySet<string>): OnnxNode[] | undefined {
  const readers = new Map<string, number[]>();
  nodes.forEach((n, i) => n.inputs.forEach((name) => name && readers.set(name, [...(readers.get(name) ?? []), i])));
  const names = new Set(nodes.flatMap((n) => [...n.inputs, ...n.outputs]));
  for (const [a, act] of nodes.entries()) {
    if (!COMMUTES_WITH_MAX.has(act.opType)) continue;
    const out = act.outputs[0];
    const users = readers.get(out) ?? [];
    if (graphOutputs.has(out) || users.length !== 1) continue;
    const p = users[0];
    const pool = nodes[p];
    if (!MAX_POOLS.has(pool.opType) || pool.inputs[0] !== out || pool.inputs.indexOf(out, 1) >= 0 || pool.outputs.slice(1).some(Boolean)) continue;
    let between = `${pool.outputs[0]}/pooled`;
    while (names.has(between)) between += '_';
    const swapped = [...nodes];
    swapped[a] = { ...pool, inputs: [act.inputs[0], ...pool.inputs.slice(1)], outputs: [between] };
    swapped[p] = { ...act, inputs: [between, ...act.inputs.slice(1)], outputs: [pool.outputs[0]] };
    return swapped;
  }
  return undefined;
}
