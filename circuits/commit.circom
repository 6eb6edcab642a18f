pragma circom 2.1.0;

// Commitments (see src/commit/poseidon.ts, which computes the same outside the circuit).

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/poseidon.circom";

// n values, each proven to be a b-bit digit once `offset` is added (offset 2^(b-1): a signed value
// in [-2^(b-1), 2^(b-1)); offset 0: an unsigned one), packed floor(253 / b) digits per field element,
// the first digit lowest. The range check is what makes the packing injective; it is also the only
// cost: b constraints per value, the packing itself is linear.
template PackDigits(n, b, offset) {
    var per = 253 \ b;
    var chunks = (n + per - 1) \ per;
    signal input in[n];
    signal output out[chunks];
    component digit[n];
    var acc[chunks];
    for (var c = 0; c < chunks; c++) acc[c] = 0;
    for (var i = 0; i < n; i++) {
        digit[i] = Num2Bits(b);
        digit[i].in <== in[i] + offset;
        acc[i \ per] += (in[i] + offset) * (1 << (b * (i % per)));
    }
    for (var c = 0; c < chunks; c++) out[c] <== acc[c];
}

// Poseidon over any number of field elements: the first 16 at once, then each further block of up
// to 15 with the running hash in front (circomlib's Poseidon takes at most 16 inputs).
template PoseidonChain(n) {
    signal input in[n];
    signal output out;
    var blocks = n <= 16 ? 1 : 1 + (n - 16 + 14) \ 15;
    component h[blocks];
    h[0] = Poseidon(n <= 16 ? n : 16);
    for (var i = 0; i < (n <= 16 ? n : 16); i++) h[0].inputs[i] <== in[i];
    for (var k = 1; k < blocks; k++) {
        var start = 16 + 15 * (k - 1);
        var size = n - start < 15 ? n - start : 15;
        h[k] = Poseidon(size + 1);
        h[k].inputs[0] <== h[k - 1].out;
        for (var i = 0; i < size; i++) h[k].inputs[1 + i] <== in[start + i];
    }
    out <== h[blocks - 1].out;
}
