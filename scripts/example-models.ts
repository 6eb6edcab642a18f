/**
 * The example models in examples/, built in code so tests and the benchmark can make them without the files.
 * Weights are seeded random, uniform in ±1/sqrt(fan_in) (PyTorch's default Linear/Conv initialisation), so
 * their magnitudes, and hence the fixed-point ranges a circuit needs, resemble those of a trained net.
 */
import { OnnxBuilder, mulberry32, randomTensor } from '../test/support/onnx-builder.js';

export interface Example {
  /** Directory under examples/. */
  readonly name: string;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  model(seed?: number): Uint8Array;
  /** input.json's `input_data`: one flat row-major array per graph input. */
  inputData(seed?: number): number[][];
}

/** 784-128-10 Gemm/Relu MLP over a flattened 28x28 image. */
export function mnistMlp(seed = 1): Uint8Array {
  return mlp([784, 128, 10], seed);
}

/** 4-8-3 Gemm/Relu MLP. */
export function tinyMlp(seed = 1): Uint8Array {
  return mlp([4, 8, 3], seed);
}

/** [1,1,6,6] → Conv(2 channels, 3x3, pads 1) → Relu → MaxPool 2x2 → Flatten → Gemm → [1,3]. */
export function tinyCnn(seed = 1): Uint8Array {
  const rng = mulberry32(seed);
  const conv = 1 / Math.sqrt(1 * 3 * 3);
  const fc = 1 / Math.sqrt(2 * 3 * 3);
  return new OnnxBuilder()
    .input('input', [1, 1, 6, 6])
    .initializer('conv_W', [2, 1, 3, 3], randomTensor(rng, [2, 1, 3, 3], conv))
    .initializer('conv_B', [2], randomTensor(rng, [2], conv))
    .initializer('fc_W', [3, 18], randomTensor(rng, [3, 18], fc))
    .initializer('fc_B', [3], randomTensor(rng, [3], fc))
    .node('Conv', ['input', 'conv_W', 'conv_B'], ['conv'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] })
    .node('Relu', ['conv'], ['conv_relu'])
    .node('MaxPool', ['conv_relu'], ['pool'], { kernel_shape: [2, 2], strides: [2, 2] })
    .node('Flatten', ['pool'], ['flat'], { axis: 1 })
    .node('Gemm', ['flat', 'fc_W', 'fc_B'], ['output'], { transB: 1 })
    .output('output', [1, 3])
    .build();
}

/**
 * LeNet-5 for 28×28 MNIST (LeCun et al. 1998, with ReLU and max-pooling as usual today):
 * [1,1,28,28] → Conv 6@5×5 (pads 2) → Relu → MaxPool 2×2 → Conv 16@5×5 → Relu → MaxPool 2×2 →
 * Flatten (400) → Gemm 120 → Relu → Gemm 84 → Relu → Gemm 10.
 */
export function lenet5(seed = 1): Uint8Array {
  const rng = mulberry32(seed);
  const b = new OnnxBuilder().input('input', [1, 1, 28, 28]);
  const conv = (name: string, x: string, out: number, inC: number, pads: number) => {
    const scale = 1 / Math.sqrt(inC * 25);
    b.initializer(`${name}_W`, [out, inC, 5, 5], randomTensor(rng, [out, inC, 5, 5], scale))
      .initializer(`${name}_B`, [out], randomTensor(rng, [out], scale))
      .node('Conv', [x, `${name}_W`, `${name}_B`], [name], { kernel_shape: [5, 5], pads: [pads, pads, pads, pads], strides: [1, 1] })
      .node('Relu', [name], [`${name}_relu`])
      .node('MaxPool', [`${name}_relu`], [`${name}_pool`], { kernel_shape: [2, 2], strides: [2, 2] });
    return `${name}_pool`;
  };
  const pooled = conv('conv2', conv('conv1', 'input', 6, 1, 2), 16, 6, 0);
  b.node('Flatten', [pooled], ['flat'], { axis: 1 });
  let x = 'flat';
  const widths = [400, 120, 84, 10];
  for (let l = 1; l < widths.length; l++) {
    const [fanIn, fanOut] = [widths[l - 1], widths[l]];
    const scale = 1 / Math.sqrt(fanIn);
    const y = l === widths.length - 1 ? 'output' : `fc${l}`;
    b.initializer(`W${l}`, [fanOut, fanIn], randomTensor(rng, [fanOut, fanIn], scale))
      .initializer(`b${l}`, [fanOut], randomTensor(rng, [fanOut], scale))
      .node('Gemm', [x, `W${l}`, `b${l}`], [y], { transB: 1 });
    if (y !== 'output') b.node('Relu', [y], ((x = `relu${l}`), [x]));
  }
  return b.output('output', [1, 10]).build();
}

export const EXAMPLES: readonly Example[] = [
  { name: 'mnist_mlp', inputShape: [1, 784], outputShape: [1, 10], model: mnistMlp, inputData: uniformInput(784, 0, 1) },
  // Signed inputs, so the smallest example also exercises negative fixed-point values.
  { name: 'tiny_mlp', inputShape: [1, 4], outputShape: [1, 3], model: tinyMlp, inputData: uniformInput(4, -1, 1) },
  { name: 'tiny_cnn', inputShape: [1, 1, 6, 6], outputShape: [1, 3], model: tinyCnn, inputData: uniformInput(36, 0, 1) },
  { name: 'lenet5', inputShape: [1, 1, 28, 28], outputShape: [1, 10], model: lenet5, inputData: uniformInput(784, 0, 1) },
];

/** Gemm (transB) layers of the given widths with Relu between them, from `input` [1, widths[0]] to `output`. */
export function mlp(widths: readonly number[], seed: number): Uint8Array {
  const rng = mulberry32(seed);
  const b = new OnnxBuilder().input('input', [1, widths[0]]);
  let x = 'input';
  for (let l = 1; l < widths.length; l++) {
    const [fanIn, fanOut] = [widths[l - 1], widths[l]];
    const scale = 1 / Math.sqrt(fanIn);
    const last = l === widths.length - 1;
    const y = last ? 'output' : `fc${l}`;
    b.initializer(`W${l}`, [fanOut, fanIn], randomTensor(rng, [fanOut, fanIn], scale))
      .initializer(`b${l}`, [fanOut], randomTensor(rng, [fanOut], scale))
      .node('Gemm', [x, `W${l}`, `b${l}`], [y], { transB: 1 });
    if (!last) {
      x = `relu${l}`;
      b.node('Relu', [y], [x]);
    }
  }
  return b.output('output', [1, widths[widths.length - 1]]).build();
}

/** One input of `size` values uniform in [lo, hi), from a stream apart from the weights' so either can change alone. */
function uniformInput(size: number, lo: number, hi: number): (seed?: number) => number[][] {
  return (seed = 1) => {
    const rng = mulberry32(seed ^ 0x5eed);
    return [Array.from({ length: size }, () => lo + (hi - lo) * rng())];
  };
}
