import { ZkError } from '../../core/errors.js';
import type { AttributeValue, OnnxNode } from '../../onnx/graph.js';
import { isConstant } from '../affine.js';
import type { PlanBuilder, Origin } from '../plan-builder.js';
import type { SymTensor } from '../tensor.js';

/** What an op implementation sees: its node, its inputs as symbolic tensors, and the builder. */
export class OpContext {
  readonly origin: Origin;
  /** The attributes the op has read: any other attribute of the node is refused by name (see attributes.ts). */
  readonly read = new Set<string>();
  constructor(
    readonly node: OnnxNode,
    private readonly values: ReadonlyArray<SymTensor | undefined>,
    readonly builder: PlanBuilder,
    readonly opset: number,
  ) {
    this.origin = { node: node.name, op: node.opType };
  }

  get inputCount(): number {
    return this.values.length;
  }

  input(i: number): SymTensor {
    const v = this.values[i];
    if (!v) this.fail(`input ${i} is required`);
    return v;
  }

  optional(i: number): SymTensor | undefined {
    return this.values[i];
  }

  /** Values of an input that must be known when compiling (shapes, axes, pads, exponents). */
  constInput(i: number, what: string): number[] {
    const t = this.input(i);
    if (!t.data.every(isConstant)) this.fail(`${what} (input ${i}) must be a constant, not computed from the model's inputs`);
    return t.data.map((a) => a.bias);
  }

  attr(name: string): AttributeValue | undefined {
    this.read.add(name);
    return this.node.attributes[name];
  }

  int(name: string, fallback: number): number {
    const v = this.attr(name);
    return typeof v === 'number' ? v : fallback;
  }

  float(name: string, fallback: number): number {
    return this.int(name, fallback);
  }

  ints(name: string, fallback: number[]): number[] {
    const v = this.attr(name);
    return Array.isArray(v) ? (v as number[]) : fallback;
  }

  string(name: string, fallback: string): string {
    const v = this.attr(name);
    return typeof v === 'string' ? v : fallback;
  }

  /** An error that names the node and op, for anything this op cannot compile. */
  fail(message: string): never {
    throw new ZkError('ONNX_UNSUPPORTED', `node ${this.node.name} (${this.node.opType}): ${message}`, {
      node: this.node.name,
      op: this.node.opType,
    });
  }

  shapeError(message: string): never {
    throw new ZkError('SHAPE_MISMATCH', `node ${this.node.name} (${this.node.opType}): ${message}`, {
      node: this.node.name,
      op: this.node.opType,
    });
  }
}

export type OpImpl = (ctx: OpContext) => SymTensor[];
