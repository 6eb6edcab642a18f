import { type Affine, isConstant } from '../affine.js';

/**
 * A masked element of a Softmax row: a fill of −∞ or a float's lowest value (finfo.min, −1e9…),
 * written by `Where(mask, -inf, x)`, `masked_fill` or `x + mask`. Its exp is 0 to any precision, so
 * the element drops out of the row (output exactly 0) instead of costing a range check wide enough
 * for 3.4e38. Below −2^20 no calibrated activation reaches: a constant there is a fill, and a form
 * whose constant part is below −1e30 stays a fill whatever its terms add (they are bounded by 2^64).
 */
export const isMaskFill = (x: Affine): boolean => x.bias <= -1e30 || Number.isNaN(x.bias) || (isConstant(x) && x.bias < -(2 ** 20));
