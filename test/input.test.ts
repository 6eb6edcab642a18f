/**
 * src/io/input.ts: the input documents parseInputs accepts (corpus form, nested `input`, by-name
 * `input`, flat arrays) and rejects (non-finite, non-numeric, wrong length, missing), and the
 * fixed-point encoding quantizeInputs refuses to overflow.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ZkError, type ZkErrorCode } from '../src/core/errors.js';
import { type InputSpec, parseInputs, quantizeInputs } from '../src/io/input.js';

const ONE: InputSpec[] = [{ name: 'image', dims: [1, 2, 3] }];
const TWO: InputSpec[] = [
  { name: 'tokens', dims: [2, 2] },
  { name: 'mask', dims: [3] },
];

function rejects(f: () => unknown, codes: ZkErrorCode[], ...fragments: string[]): ZkError {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ZkError, `expected a ZkError, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  assert.ok(codes.includes(caught.code), `code ${caught.code} (${caught.message}) should be one of ${codes}`);
  for (const s of fragments) assert.ok(caught.message.includes(s), `message "${caught.message}" should mention ${s}`);
  return caught;
}

test('corpus form: input_data holds one flat array per graph input', () => {
  assert.deepEqual(parseInputs({ input_data: [[1, 2, 3, 4, 5, 6]] }, ONE), [[1, 2, 3, 4, 5, 6]]);
  assert.deepEqual(
    parseInputs(
      {
        input_data: [
          [1, 2, 3, 4],
          [0, 1, 1],
        ],
      },
      TWO,
    ),
    [
      [1, 2, 3, 4],
      [0, 1, 1],
    ],
  );
  // A nested row is flattened too, row-major.
  assert.deepEqual(
    parseInputs(
      {
        input_data: [
          [
            [1, 2],
            [3, 4],
          ],
          [0, 1, 1],
        ],
      },
      TWO,
    ),
    [
      [1, 2, 3, 4],
      [0, 1, 1],
    ],
  );
});

test('nested input for a one-input model is flattened row-major', () => {
  const doc = {
    input: [
      [
        [0.5, -1, 2],
        [3, 4.25, -5],
      ],
    ],
  };
  assert.deepEqual(parseInputs(doc, ONE), [[0.5, -1, 2, 3, 4.25, -5]]);
});

test('flat arrays are accepted where the shape is nested', () => {
  assert.deepEqual(parseInputs({ input: [1, 2, 3, 4, 5, 6] }, ONE), [[1, 2, 3, 4, 5, 6]]);
  assert.deepEqual(parseInputs({ input: { tokens: [1, 2, 3, 4], mask: [1, 0, 1] } }, TWO), [
    [1, 2, 3, 4],
    [1, 0, 1],
  ]);
});

test('by-name input for a two-input model, in graph order whatever the key order', () => {
  const doc = {
    input: {
      mask: [true, false, true],
      tokens: [
        [1, 2],
        [3, 4],
      ],
    },
  };
  assert.deepEqual(parseInputs(doc, TWO), [
    [1, 2, 3, 4],
    [1, 0, 1],
  ]);
  // By name also works for one input.
  assert.deepEqual(
    parseInputs(
      {
        input: {
          image: [
            [
              [1, 2, 3],
              [4, 5, 6],
            ],
          ],
        },
      },
      ONE,
    ),
    [[1, 2, 3, 4, 5, 6]],
  );
});

test('parsed JSON text round-trips', () => {
  const text = JSON.stringify({
    input: {
      tokens: [
        [1e-3, -2.5],
        [3, 4],
      ],
      mask: [0, 1, 0],
    },
  });
  assert.deepEqual(parseInputs(JSON.parse(text), TWO), [
    [1e-3, -2.5, 3, 4],
    [0, 1, 0],
  ]);
});

test('NaN, Infinity and -Infinity are rejected with INPUT_INVALID naming the input and position', () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    rejects(() => parseInputs({ input: [1, 2, bad, 4, 5, 6] }, ONE), ['INPUT_INVALID'], 'image', '[2]');
    rejects(
      () =>
        parseInputs(
          {
            input_data: [
              [1, 2, 3, 4],
              [0, bad, 1],
            ],
          },
          TWO,
        ),
      ['INPUT_INVALID'],
      'mask',
      '[1]',
    );
    rejects(
      () =>
        parseInputs(
          {
            input: {
              tokens: [
                [1, 2],
                [3, bad],
              ],
              mask: [0, 1, 0],
            },
          },
          TWO,
        ),
      ['INPUT_INVALID'],
      'tokens',
      '[1][1]',
    );
  }
});

test('strings, null, objects and undefined values are rejected with INPUT_INVALID naming the input', () => {
  for (const bad of ['1', '', null, {}, undefined]) {
    rejects(
      () =>
        parseInputs(
          {
            input: [
              [
                [1, 2, 3],
                [4, bad, 6],
              ],
            ],
          },
          ONE,
        ),
      ['INPUT_INVALID'],
      'image',
      '[0][1][1]',
    );
  }
  rejects(() => parseInputs({ input: { tokens: 'abcd', mask: [0, 1, 0] } }, TWO), ['INPUT_INVALID'], 'tokens');
  rejects(() => parseInputs({ input: { tokens: null, mask: [0, 1, 0] } }, TWO), ['INPUT_INVALID'], 'tokens');
  rejects(() => parseInputs({ input_data: [null] }, ONE), ['INPUT_INVALID'], 'image');
});

test('wrong lengths are rejected with SHAPE_MISMATCH naming the input and both sizes', () => {
  const e = rejects(() => parseInputs({ input: [1, 2, 3, 4, 5] }, ONE), ['SHAPE_MISMATCH'], 'image', '5', '6');
  assert.equal(e.details?.input, 'image');
  rejects(
    () =>
      parseInputs(
        {
          input: [
            [
              [1, 2, 3],
              [4, 5, 6],
            ],
            [
              [7, 8, 9],
              [1, 2, 3],
            ],
          ],
        },
        ONE,
      ),
    ['SHAPE_MISMATCH'],
    'image',
    '12',
  );
  rejects(() => parseInputs({ input: { tokens: [1, 2, 3, 4], mask: [0, 1] } }, TWO), ['SHAPE_MISMATCH'], 'mask');
  rejects(
    () =>
      parseInputs(
        {
          input_data: [
            [1, 2, 3, 4, 5],
            [0, 1, 0],
          ],
        },
        TWO,
      ),
    ['SHAPE_MISMATCH'],
    'tokens',
  );
  rejects(() => parseInputs({ input: [] }, ONE), ['SHAPE_MISMATCH'], 'image');
});

test('missing keys and wrong containers are rejected with INPUT_INVALID', () => {
  rejects(() => parseInputs({ input: { tokens: [1, 2, 3, 4] } }, TWO), ['INPUT_INVALID'], 'mask');
  rejects(() => parseInputs({ input: { Tokens: [1, 2, 3, 4], mask: [0, 1, 0] } }, TWO), ['INPUT_INVALID'], 'tokens');
  // A bare array is ambiguous for two inputs: the message lists the names it wants.
  rejects(() => parseInputs({ input: [1, 2, 3, 4] }, TWO), ['INPUT_INVALID'], 'tokens', 'mask');
  rejects(() => parseInputs({ input: 5 }, ONE), ['INPUT_INVALID'], 'input');
  rejects(() => parseInputs({ input_data: [[1, 2, 3, 4]] }, TWO), ['INPUT_INVALID'], 'input_data', '2');
  rejects(() => parseInputs({ input_data: 'x' }, ONE), ['INPUT_INVALID'], 'input_data');
  rejects(() => parseInputs({}, ONE), ['INPUT_INVALID'], 'input');
  rejects(() => parseInputs({ inputs: [1, 2, 3, 4, 5, 6] }, ONE), ['INPUT_INVALID'], 'input');
});

test('null, arrays and scalars as the whole document are rejected with INPUT_INVALID', () => {
  for (const doc of [null, undefined, 42, 'input', [1, 2, 3, 4, 5, 6]]) rejects(() => parseInputs(doc, ONE), ['INPUT_INVALID']);
});

test('quantizeInputs encodes at each input scale, rounding to nearest', () => {
  assert.deepEqual(
    quantizeInputs(
      [
        [0.5, -0.25, 1 / 3, 0],
        [3, -2],
      ],
      [8, 0],
      ['x', 'n'],
    ),
    [
      [128n, -64n, 85n, 0n],
      [3n, -2n],
    ],
  );
  // Just below the limit is still accepted.
  assert.deepEqual(quantizeInputs([[2 ** 55]], [8], ['x']), [[2n ** 63n]]);
});

test('quantizeInputs rejects 1e30 with INPUT_OUT_OF_RANGE naming the input and index', () => {
  for (const big of [1e30, -1e30]) {
    const e = rejects(() => quantizeInputs([[0, 1, big]], [8], ['image']), ['INPUT_OUT_OF_RANGE'], 'image', '[2]');
    assert.deepEqual(e.details, { input: 'image', index: 2 });
  }
  // Even an integer input at scale 0 overflows at 2^64.
  rejects(() => quantizeInputs([[1], [2 ** 64]], [8, 0], ['a', 'b']), ['INPUT_OUT_OF_RANGE'], 'b');
});

test('a document with both input and input_data, or an input name the model does not have, is refused', () => {
  const flat = [1, 2, 3, 4, 5, 6];
  rejects(() => parseInputs({ input: flat, input_data: [flat] }, ONE), ['INPUT_INVALID'], 'both "input" and "input_data"');
  const tokens = [1, 2, 3, 4]; // [2, 2], flat
  rejects(() => parseInputs({ input: { tokens, mask: [1, 0, 1], other: [1] } }, TWO), ['INPUT_INVALID'], '"other"', 'tokens, mask');
  // A misspelled salt was dropped, and a random salt used in its place.
  rejects(() => parseInputs({ input: flat, sallt: '7' }, ONE), ['INPUT_INVALID'], '"sallt"', 'input, input_data, salt');
  // The corpus files' descriptive keys are part of the format.
  assert.equal(parseInputs({ input_data: [flat], output_data: [[0]], input_shapes: [[6]] }, ONE)[0].length, 6);
});
