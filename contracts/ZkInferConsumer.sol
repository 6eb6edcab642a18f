// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/**
 * @title ZkInferConsumer
 * @notice What a dApp deploys to accept proven inferences of ONE zkinfer model: it checks a proof
 * with the model's verifier (exported by `zkinfer verifier`, any of Groth16, PLONK, FFLONK), then
 * decodes the proven output, stores it under the proven input and emits an event.
 *
 * Why a proof for another model fails: the verifier embeds this model's verifying key, so only this
 * model's proofs verify (a proof is bound to its key). Before calling it, the contract also rejects
 * a submission that names another model id or carries a different number of public signals, so
 * such mistakes fail with a clear error instead of a bare `InvalidProof`.
 *
 * With hashed weights the verifying key no longer pins the weights (they are witness): the proof's
 * weights commitment does, so the contract also requires it to be the model commitment.
 *
 * Public signals (zkinfer's layout, model.json `publicLayout`): the public outputs first, then the
 * commitments, then the public inputs and weights, each a BN254 field element; a signed fixed-point
 * integer v is encoded as v mod p, so elements above p/2 are negative. A value is integer / 2^scale.
 *
 * What an accepted submission proves: someone who had a witness (or a proof made from one) showed
 * that this model, run on the input the public signals name (the public input, or the input behind
 * its commitment), gives the output recorded. What it does NOT prove:
 * - who ran it. msg.sender is not bound to the proof: anyone who sees a proof (in the mempool, in a
 *   bundle) can submit it first under their own address (front-running). A dApp that rewards the
 *   submitter must bind the sender inside the statement (e.g. hash it into the salt of a hashed input)
 *   or reward something other than being first.
 * - anything about a private input: with input=private the proof shows only that SOME input gives
 *   this output.
 * - that the keys are honest: whoever alone made the phase-2 key (zkinfer's development setup) can
 *   forge proofs of anything; trust rests on the setup ceremony behind the verifier.
 *
 * Replay policy: one record per statement. A Groth16 proof can be re-randomized by anyone who sees
 * it ((A, B, C) -> (-A, -B, C) and more general rerandomizations verify for the same public signals),
 * so proofs are not deduplicated by their bytes but by the statement: the nullifier is keccak256 of
 * the public signals, and a statement is recorded once (`recorded`). A second submission of the same
 * statement, by anyone, in any proof encoding, reverts AlreadyRecorded.
 *
 * Records: the output is stored under the input's public identity, keccak256 of the signals after the
 * outputs (the commitments and public inputs), when the input has one (a public or hashed input).
 * With a private input and a public output the signals name no input, so each statement gets its own
 * record, under the nullifier itself; one submission never overwrites another's record.
 *
 * Encodings are canonical: every proof word below the base field's modulus q and every public signal
 * below the scalar field's r, so one statement has one encoding of its signals.
 */
contract ZkInferConsumer {
    /// BN254's scalar field (circom's prime): every public signal is below it.
    uint256 internal constant FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// BN254's base field: every proof word (a point coordinate, or a scalar-field evaluation) is below it.
    uint256 internal constant BASE_FIELD = 21888242871839275222246405745257275088696311157297823662689037894645226208583;
    /// zkinfer's circuits are sound for inputs with |integer| < 2^64: the compiler proves no layer can
    /// wrap around the field below that bound, so a larger input could alias a small one.
    uint256 internal constant INPUT_LIMIT = 2 ** 64;

    /// The model's verifier contract and its `verifyProof` selector (it depends on the proof system
    /// and the number of public signals; `zkinfer verifier` prints it).
    address public immutable verifier;
    bytes4 public immutable verifySelector;
    /// sha256 of the model's verifying key (model.json `setup.vkeyHash`): the model's identity.
    bytes32 public immutable modelId;
    /// Proof length in 32-byte words: 8 for Groth16, 24 for PLONK and FFLONK.
    uint256 public immutable proofWords;
    uint256 public immutable publicSignalCount;
    /// How many leading public signals are outputs (0 when the model keeps its output private).
    uint256 public immutable outputCount;
    /// The public inputs are signals [inputsFrom, inputsTo): each must be within INPUT_LIMIT.
    uint256 public immutable inputsFrom;
    uint256 public immutable inputsTo;
    /// With hashed weights: the Poseidon commitment to the weights (model.json) and its signal; else 0.
    uint256 public immutable modelCommitment;
    uint256 public immutable modelCommitmentIndex;
    /// Fraction bits of the outputs.
    uint8 public immutable scale;
    /// The model version (model.json `setup.versionId`: sha256 of the ONNX hash, the compile settings,
    /// the r1cs hash and the verifying key hash): which model version produced the outputs stored here.
    bytes32 public immutable versionId;

    /// True when the signals after the outputs identify the input (a public input or an input
    /// commitment): records are keyed by them; otherwise by the statement (see the notes above).
    bool public immutable keyedByInput;

    mapping(bytes32 => int256[]) private proven;
    /// Statements (keccak256 of the public signals) already recorded: the replay nullifiers.
    mapping(bytes32 => bool) public recorded;
    bytes32 public latestInputHash;

    event InferenceVerified(bytes32 indexed modelId, address indexed submitter, bytes32 indexed inputHash, int256[] output);

    error WrongModel(bytes32 expected, bytes32 got);
    error MalformedProof(uint256 words);
    error WrongPublicSignalCount(uint256 expected, uint256 got);
    error SignalOutOfField(uint256 index);
    error InputOutOfRange(uint256 index);
    error WrongModelCommitment(uint256 expected, uint256 got);
    error InvalidProof();
    error NonCanonicalProof(uint256 index);
    error AlreadyRecorded(bytes32 statement);

    constructor(
        address verifier_,
        bytes4 verifySelector_,
        uint256 proofWords_,
        uint256 publicSignalCount_,
        uint256 outputCount_,
        uint8 scale_,
        bytes32 modelId_,
        uint256[2] memory inputRange_,
        uint256 modelCommitment_,
        uint256 modelCommitmentIndex_,
        bytes32 versionId_
    ) {
        require(verifier_.code.length > 0, "verifier is not a contract");
        require(proofWords_ == 8 || proofWords_ == 24, "proof words: 8 or 24");
        require(publicSignalCount_ > 0 && outputCount_ <= publicSignalCount_, "outputs exceed public signals");
        require(inputRange_[0] <= inputRange_[1] && inputRange_[1] <= publicSignalCount_, "input range exceeds public signals");
        require(modelCommitment_ == 0 || modelCommitmentIndex_ < publicSignalCount_, "model commitment index");
        inputsFrom = inputRange_[0];
        inputsTo = inputRange_[1];
        modelCommitment = modelCommitment_;
        modelCommitmentIndex = modelCommitmentIndex_;
        verifier = verifier_;
        verifySelector = verifySelector_;
        proofWords = proofWords_;
        publicSignalCount = publicSignalCount_;
        outputCount = outputCount_;
        scale = scale_;
        modelId = modelId_;
        // After the outputs come the commitments and public inputs; beyond the weights commitment
        // (the same in every proof), any of them is the input's (or a hashed output's, which also
        // differs per statement).
        keyedByInput = publicSignalCount_ - outputCount_ > (modelCommitment_ != 0 ? 1 : 0);
        versionId = versionId_;
    }

    /**
     * @notice Verifies a proof of this model and records its output.
     * @param model the model id the proof claims (the bundle's `model.vkeyHash`)
     * @param proof the proof as 32-byte words, in the verifier's order (`zkinfer calldata --consumer`)
     * @param pubSignals the public signals, in the model's layout
     * @return output the proven output, as signed fixed-point integers
     * Reverts AlreadyRecorded when the statement (the public signals) was recorded before, in any proof.
     */
    function submit(bytes32 model, uint256[] calldata proof, uint256[] calldata pubSignals) external returns (int256[] memory output) {
        if (model != modelId) revert WrongModel(modelId, model);
        if (proof.length != proofWords) revert MalformedProof(proof.length);
        if (pubSignals.length != publicSignalCount) revert WrongPublicSignalCount(publicSignalCount, pubSignals.length);
        for (uint256 i = 0; i < proof.length; i++) {
            if (proof[i] >= BASE_FIELD) revert NonCanonicalProof(i);
        }

        // snarkjs' PLONK and FFLONK verifiers do not range-check public signals (Groth16's does);
        // the decoding below needs canonical field elements, so every system gets this check here.
        for (uint256 i = 0; i < pubSignals.length; i++) {
            if (pubSignals[i] >= FIELD) revert SignalOutOfField(i);
            if (i >= inputsFrom && i < inputsTo && pubSignals[i] >= INPUT_LIMIT && FIELD - pubSignals[i] >= INPUT_LIMIT) revert InputOutOfRange(i);
        }
        if (modelCommitment != 0 && pubSignals[modelCommitmentIndex] != modelCommitment) {
            revert WrongModelCommitment(modelCommitment, pubSignals[modelCommitmentIndex]);
        }
        // Every verifyProof argument is a fixed-size array, so the call is the selector followed by
        // the words; one contract serves all three systems.
        (bool ok, bytes memory ret) = verifier.staticcall(abi.encodePacked(verifySelector, proof, pubSignals));
        if (!ok || ret.length != 32 || abi.decode(ret, (uint256)) != 1) revert InvalidProof();
        // After verification, so a replay is only ever said of a valid proof.
        bytes32 statement = keccak256(abi.encodePacked(pubSignals));
        if (recorded[statement]) revert AlreadyRecorded(statement);

        output = new int256[](outputCount);
        for (uint256 i = 0; i < outputCount; i++) output[i] = toSigned(pubSignals[i]);
        recorded[statement] = true;
        bytes32 inputHash = keyedByInput ? keccak256(abi.encodePacked(pubSignals[outputCount:])) : statement;
        proven[inputHash] = output;
        latestInputHash = inputHash;
        emit InferenceVerified(modelId, msg.sender, inputHash, output);
    }

    /// @notice The proven output for an input (keccak256 of the packed public signals after the outputs:
    /// the commitments and public inputs), or with a private input for a statement (keccak256 of all
    /// the public signals; the event's inputHash either way); empty if none.
    function outputOf(bytes32 inputHash) external view returns (int256[] memory) {
        return proven[inputHash];
    }

    /// @notice An output integer as an 18-decimal fixed-point number (exact for scale <= 18).
    function toWad(int256 value) external view returns (int256) {
        return (value * 1e18) / int256(2 ** uint256(scale));
    }

    /// Field element -> signed integer: elements above p/2 stand for negatives.
    function toSigned(uint256 x) internal pure returns (int256) {
        return x > FIELD / 2 ? -int256(FIELD - x) : int256(x);
    }
}
