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
 */
contract ZkInferConsumer {
    /// BN254's scalar field (circom's prime): every public signal is below it.
    uint256 internal constant FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
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

    mapping(bytes32 => int256[]) private proven;
    bytes32 public latestInputHash;

    event InferenceVerified(bytes32 indexed modelId, address indexed submitter, bytes32 indexed inputHash, int256[] output);

    error WrongModel(bytes32 expected, bytes32 got);
    error MalformedProof(uint256 words);
    error WrongPublicSignalCount(uint256 expected, uint256 got);
    error SignalOutOfField(uint256 index);
    error InputOutOfRange(uint256 index);
    error WrongModelCommitment(uint256 expected, uint256 got);
    error InvalidProof();

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
        versionId = versionId_;
    }

    /**
     * @notice Verifies a proof of this model and records its output.
     * @param model the model id the proof claims (the bundle's `model.vkeyHash`)
     * @param proof the proof as 32-byte words, in the verifier's order (`zkinfer calldata --consumer`)
     * @param pubSignals the public signals, in the model's layout
     * @return output the proven output, as signed fixed-point integers
     */
    function submit(bytes32 model, uint256[] calldata proof, uint256[] calldata pubSignals) external returns (int256[] memory output) {
        if (model != modelId) revert WrongModel(modelId, model);
        if (proof.length != proofWords) revert MalformedProof(proof.length);
        if (pubSignals.length != publicSignalCount) revert WrongPublicSignalCount(publicSignalCount, pubSignals.length);
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

        output = new int256[](outputCount);
        for (uint256 i = 0; i < outputCount; i++) output[i] = toSigned(pubSignals[i]);
        bytes32 inputHash = keccak256(abi.encodePacked(pubSignals[outputCount:]));
        proven[inputHash] = output;
        latestInputHash = inputHash;
        emit InferenceVerified(modelId, msg.sender, inputHash, output);
    }

    /// @notice The proven output for an input (keccak256 of the packed public signals after the outputs:
    /// the commitments and public inputs); empty if none.
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
