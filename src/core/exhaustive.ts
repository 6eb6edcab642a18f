/**
 * The `default:` of a switch over a closed union (e.g. gadget kinds): `x` has type `never` only when every
 * member has its case, so a new member without one is a compile error here, not a silent fall-through.
 * Throws if reached at run time (data that bypassed the types, e.g. a hand-edited plan.json).
 */
export function assertNever(x: never, what = 'value'): never {
  throw new Error(`unhandled ${what}: ${JSON.stringify((x as { kind?: unknown })?.kind ?? x)}`);
}
