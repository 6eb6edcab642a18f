pragma circom 2.1.0;

// zkinfer's gadget library: the only places where a model's circuit spends non-linear constraints.
// Everything linear (dense layers, convolutions, batch norm, padding, reshapes) is folded by the
// compiler into the affine forms that feed these templates, and costs nothing.

include "circomlib/circuits/bitify.circom";

// Floor division by 2^shift of a signed value, with its sign.
//
// `in` must lie in [-2^(bits-1), 2^(bits-1)); the bit decomposition of in + 2^(bits-1) proves it, and
// the same bits give the quotient (the bits above `shift`), the remainder (the bits below, so it is
// range-checked by construction) and the sign (the top bit). Cost: `bits` constraints.
// Sound: Num2Bits with bits <= 252 < 254 has a unique decomposition in BN254's scalar field.
template FloorShift(shift, bits) {
    assert(bits <= 252);
    assert(shift < bits - 1);
    signal input in;
    signal output out;     // floor(in / 2^shift)
    signal output nonNeg;  // 1 if in >= 0, else 0

    component b = Num2Bits(bits);
    b.in <== in + (1 << (bits - 1));

    var high = 0;
    for (var i = shift; i < bits - 1; i++) {
        high += b.out[i] * (1 << (i - shift));
    }
    nonNeg <== b.out[bits - 1];
    out <== high - (1 - nonNeg) * (1 << (bits - 1 - shift));
}

// Rescale: round-to-nearest division by 2^shift (the compiler adds 2^(shift-1) to `in`).
template Rescale(shift, bits) {
    signal input in;
    signal output out;
    component f = FloorShift(shift, bits);
    f.in <== in;
    out <== f.out;
}

// ReLU fused with the rescale: max(0, floor(in / 2^shift)). One decomposition plus one product:
// bits + 1 constraints.
template RescaleRelu(shift, bits) {
    signal input in;
    signal output out;
    component f = FloorShift(shift, bits);
    f.in <== in;
    out <== f.out * f.nonNeg;
}

// 1 if in == 0, else 0, for any field element. Three constraints, and every signal is pinned: inv is
// 1/in when in != 0 (out = 0), and 0 when in == 0 (out = 1), so no witness entry is left free.
template ZeroTest() {
    signal input in;
    signal output out;
    signal inv;
    inv <-- in != 0 ? 1 / in : 0;
    out <== 1 - in * inv;
    in * out === 0;
    inv * out === 0;
}

// 1 if in >= 0, else 0: the top bit of the range check of in to [-2^(bits-1), 2^(bits-1)).
// Cost: `bits` constraints.
template NonNegative(bits) {
    assert(bits >= 2 && bits <= 252);
    signal input in;
    signal output out;
    component b = Num2Bits(bits);
    b.in <== in + (1 << (bits - 1));
    out <== b.out[bits - 1];
}

// round(in / 2^shift) with ties to even (ONNX Round), in range-checked to `bits` signed bits.
// The decomposition gives floor(in / 2^shift) and the remainder's bits; the remainder is a tie when
// its top bit is set and the bits below are all zero (a ZeroTest), and a tie rounds up iff the floor
// is odd (its lowest bit). Cost: bits + 5 constraints (bits + 1 for shift 1).
template RoundHalfEven(shift, bits) {
    assert(shift >= 1 && shift < bits - 1 && bits <= 252);
    signal input in;
    signal output out;
    component b = Num2Bits(bits);
    b.in <== in + (1 << (bits - 1));
    var floor = -(1 - b.out[bits - 1]) * (1 << (bits - 1 - shift));
    for (var i = shift; i < bits - 1; i++) {
        floor += b.out[i] * (1 << (i - shift));
    }
    var rest = 0;
    for (var i = 0; i < shift - 1; i++) {
        rest += b.out[i] * (1 << i);
    }
    component z = ZeroTest();
    z.in <== rest;
    signal tie <== b.out[shift - 1] * z.out;
    signal up <== tie * b.out[shift];
    out <== floor + b.out[shift - 1] - tie + up;
}

// round(a·2^k / b) with ties upward, for a divisor b >= 1 (proven here, not assumed).
//
// The quotient q and remainder r = 2a·2^k + b − 2b·q are witness values pinned by: r in [0, 2^bBits),
// 2b − 1 − r in [0, 2^bBits) (so 0 <= r < 2b, which makes q = floor((2a·2^k + b) / 2b) unique and
// forces b >= 1), and q range-checked to `qBits` signed bits, so q·2b cannot wrap around the field
// (the compiler checks every bound stays below 2^252). b = 0 has no witness.
// Cost: 2·bBits + qBits + 1 constraints.
template DividePositive(k, bBits, qBits) {
    signal input a;
    signal input b;
    signal output out;
    signal num <== a * (1 << (k + 1)) + b;
    var n = num;
    var d = 2 * b;
    out <-- n >= 0 ? n \ d : -((-n + d - 1) \ d);
    signal qb <== out * b;
    signal r <== num - 2 * qb;
    component rBits = Num2Bits(bBits);
    rBits.in <== r;
    component gap = Num2Bits(bBits);
    gap.in <== 2 * b - 1 - r;
    component qRange = Num2Bits(qBits);
    qRange.in <== out + (1 << (qBits - 1));
}

// round(a·2^k / b) with ties upward, for b of either sign, b != 0: b is range-checked to `bBits`
// signed bits, its sign bit s gives |b| = b·(2s − 1) and the numerator's sign a·(2s − 1), then as
// DividePositive on |b|. Cost: 3·bBits + qBits + 3 constraints (one less for a constant a).
template DivideSigned(k, bBits, qBits) {
    signal input a;
    signal input b;
    signal output out;
    component bb = Num2Bits(bBits);
    bb.in <== b + (1 << (bBits - 1));
    signal absB <== b * (2 * bb.out[bBits - 1] - 1);
    signal na <== a * (2 * bb.out[bBits - 1] - 1);
    component d = DividePositive(k, bBits, qBits);
    d.a <== na;
    d.b <== absB;
    out <== d.out;
}

// A boolean: out = in, and in is 0 or 1. One constraint.
template Boolean() {
    signal input in;
    signal output out;
    in * (in - 1) === 0;
    out <== in;
}

// in / 2^shift truncated toward zero (a Cast from float to an integer type), in range-checked to
// `bits` signed bits: the floor from the decomposition, plus 1 when in is negative and the remainder
// (the bits below `shift`, tested by a ZeroTest) is not zero. Cost: bits + 4 constraints.
template TruncShift(shift, bits) {
    assert(shift >= 1 && shift < bits - 1 && bits <= 252);
    signal input in;
    signal output out;
    component b = Num2Bits(bits);
    b.in <== in + (1 << (bits - 1));
    var floor = -(1 - b.out[bits - 1]) * (1 << (bits - 1 - shift));
    for (var i = shift; i < bits - 1; i++) {
        floor += b.out[i] * (1 << (i - shift));
    }
    var rest = 0;
    for (var i = 0; i < shift; i++) {
        rest += b.out[i] * (1 << i);
    }
    component z = ZeroTest();
    z.in <== rest;
    signal up <== (1 - b.out[bits - 1]) * (1 - z.out);
    out <== floor + up;
}
