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
