/**
 * The OpenAPI 3 description of the API. Written by hand next to the routes; a test checks that
 * its paths and methods are exactly the app's routes.
 */
import { ERROR_CODES, ZK_ERROR_CODES } from '../core/errors.js';
import { PROOF_SYSTEMS } from '../core/snarkjs.js';
import { type SettingName, settingsJsonSchema } from '../core/settings.js';
import { MAX_WAIT_SECONDS } from './proofs.js';

const json = (schema: object) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const error = (description: string) => ({ description, content: json(ref('Error')) });
const idParam = (what: string) => ({ name: 'id', in: 'path', required: true, description: `${what} id`, schema: { type: 'string' } });
const bearer = [{ bearer: [] }];

const tensor = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    dims: { type: 'array', items: { type: 'integer' } },
    dtype: { type: 'string' },
    scale: { type: 'integer', description: 'fixed-point fraction bits' },
  },
};
const groth16Proof = {
  type: 'object',
  description: 'a snarkjs Groth16 proof',
  properties: {
    pi_a: { type: 'array', items: { type: 'string' } },
    pi_b: { type: 'array', items: { type: 'array', items: { type: 'string' } } },
    pi_c: { type: 'array', items: { type: 'string' } },
    protocol: { type: 'string' },
    curve: { type: 'string' },
  },
};

const system = { type: 'string', enum: [...PROOF_SYSTEMS], description: 'proof system of the keys (default groth16), as `zkinfer setup --system`' };

/** An error as the API returns it (src/api/errors.ts): every code it can carry, and the README anchor explaining it. */
const errorObject = {
  type: 'object',
  required: ['code', 'message'],
  properties: {
    code: { type: 'string', enum: ZK_ERROR_CODES, description: ZK_ERROR_CODES.map((c) => `${c}: ${ERROR_CODES[c]}`).join('; ') },
    message: { type: 'string' },
    details: { type: 'object' },
    docs: { type: 'string', description: 'the README anchor explaining the code, e.g. README.md#error-input_invalid' },
  },
};

/** The upload's settings (src/core/settings.ts): query parameters of a raw upload, fields of a multipart one. */
const settings = settingsJsonSchema.properties;
const settingParameters = (Object.keys(settings) as SettingName[]).map((name) => ({
  name,
  in: 'query',
  schema: settings[name],
  description: settings[name].description,
}));
const visibility = {
  type: 'object',
  description: 'what proofs reveal of each part (README: Privacy)',
  properties: {
    input: { type: 'string', enum: ['public', 'private', 'hashed'] },
    weights: { type: 'string', enum: ['fixed', 'public', 'private', 'hashed'] },
    output: { type: 'string', enum: ['public', 'private', 'hashed'] },
  },
};

export const openapi = {
  openapi: '3.0.3',
  info: {
    title: 'zkinfer',
    version: '1',
    description: 'Proven ML inference: upload an ONNX model, then request Groth16, PLONK or FFLONK proofs of its outputs and verify them.',
  },
  components: {
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'one of ZKINFER_API_KEYS; required for model upload and delete when keys are configured' },
    },
    schemas: {
      Error: { type: 'object', required: ['error'], properties: { error: errorObject } },
      Model: {
        type: 'object',
        required: ['id', 'name', 'status'],
        properties: {
          id: { type: 'string' },
          name: { type: 'string' },
          version: { type: 'integer', description: '1 for the first upload under its name; each upload under an existing name is its next version' },
          status: { type: 'string', enum: ['compiling', 'ready', 'failed'] },
          progress: { type: 'object', description: 'while compiling', properties: { stage: { type: 'string' }, percent: { type: 'integer' } } },
          error: { ...errorObject, description: 'when failed: why' },
          onnxSha256: { type: 'string' },
          settings: {
            type: 'object',
            properties: {
              scale: { type: 'integer', nullable: true, description: 'the scale asked for, else the one calibration chose (null while compiling)' },
              headroomBits: { type: 'integer' },
              calibrationSamples: { type: 'integer', nullable: true },
              ptau: { type: 'string', description: '"development", or the ceremony file (ZKINFER_PTAU)' },
              visibility,
              system,
            },
          },
          createdAt: { type: 'string', format: 'date-time' },
          updatedAt: { type: 'string', format: 'date-time' },
          inputs: { type: 'array', items: tensor },
          outputs: { type: 'array', items: tensor },
          constraints: { type: 'integer' },
          publicSignals: { type: 'integer' },
          publicLayout: {
            type: 'array',
            description: 'what the public signals are, in order: outputs, commitments, public inputs, public weights',
            items: { type: 'object' },
          },
          modelCommitment: { type: 'string', description: 'with hashed weights: the Poseidon commitment to the weights that every proof of this model shows' },
          commitments: { type: 'object', description: 'how hashed parts are packed and hashed (to recompute a commitment with the zkinfer library)' },
          quantization: {
            type: 'object',
            properties: { maxAbsError: { type: 'number' }, tolerance: { type: 'number' }, withinTolerance: { type: 'boolean' }, samples: { type: 'integer' } },
          },
          system: { type: 'string', enum: [...PROOF_SYSTEMS], description: 'the proof system of its keys' },
          vkeyHash: { type: 'string', description: 'sha256 of the canonical verifying key' },
          clientProving: {
            type: 'boolean',
            description:
              'the owner published the proving artifacts (upload option clientProving=true), so clients can prove on their own machines. With weights=fixed the circuit wasm, r1cs and zkey hold the weights as constants: they are served only for such models',
          },
          artifacts: {
            type: 'object',
            additionalProperties: { type: 'string' },
            description: 'artifact name → download URL (GET /v1/models/{id}/artifacts/{name}); the proving ones only with clientProving',
          },
          developmentPtau: { type: 'boolean' },
          ptauPower: { type: 'integer' },
          versionId: {
            type: 'string',
            description: 'sha256 of the ONNX hash, compile settings, r1cs hash and verifying key hash: the model version every proof bundle names',
          },
          trust: {
            type: 'object',
            description:
              "who a proof's soundness rests on: phase2 (operator, ceremony, none), trusted (in words), warning (an operator-only key, or an unfinalized ceremony)",
          },
          ceremony: { type: 'object', description: 'with a ceremony: contributions, finalized, and the transcript URL' },
        },
      },
      InputDocument: {
        type: 'object',
        description: '{"input": nested array (or {name: nested} for several inputs)} or {"input_data": [[flat row-major values], ...]}',
        properties: {
          input: {},
          input_data: { type: 'array', items: { type: 'array', items: { type: 'number' } } },
          salt: {
            type: 'string',
            description: "models with a hashed input or output: the commitments' salt, a decimal field element (default: random, returned in the opening)",
          },
        },
      },
      ProofJob: {
        type: 'object',
        required: ['id', 'model', 'status'],
        properties: {
          id: { type: 'string' },
          model: { type: 'string' },
          status: { type: 'string', enum: ['queued', 'running', 'done', 'failed', 'cancelled'] },
          attempts: { type: 'integer', description: 'times the job started on a prover; more than 1 when it was retried' },
          node: { type: 'string', description: 'the node that ran it (ZKINFER_NODE_NAME)' },
          createdAt: { type: 'string', format: 'date-time' },
          startedAt: { type: 'string', format: 'date-time' },
          finishedAt: { type: 'string', format: 'date-time' },
          purgedAt: { type: 'string', format: 'date-time', description: 'when retention (ZKINFER_RETENTION) purged its input and opening' },
          timings: {
            type: 'object',
            properties: {
              queuedMs: { type: 'number' },
              loadMs: { type: 'number' },
              witnessMs: { type: 'number' },
              proveMs: { type: 'number' },
              runMs: { type: 'number' },
            },
          },
          error: errorObject,
          output: {
            type: 'array',
            description: "the model's output for this input: from the start the quantized model's (computed when the request was checked), then the proof's",
            items: {
              type: 'object',
              properties: {
                name: { type: 'string' },
                dims: { type: 'array', items: { type: 'integer' } },
                values: { type: 'array', items: { type: 'number' } },
              },
            },
          },
          proven: { type: 'boolean', description: 'false until the proof of `output` is done' },
          accuracy: {
            type: 'array',
            description: 'per output: the largest |output − onnxruntime float output| and the float output',
            items: {
              type: 'object',
              properties: { name: { type: 'string' }, maxAbsError: { type: 'number' }, reference: { type: 'array', items: { type: 'number' } } },
            },
          },
          proof: groth16Proof,
          publicSignals: { type: 'array', items: { type: 'string' } },
          commitments: { type: 'object', description: 'decimal Poseidon commitments the proof shows: input, weights, output (those the model hashes)' },
          bundle: { type: 'object', description: 'the zkinfer-proof/1 bundle (what `zkinfer verify` reads): safe to share, it holds no private value' },
          opening: {
            type: 'object',
            description:
              'when the model keeps its input or output private: the private values and the salt of the commitments. For the client only: do not share it with the proof',
            properties: {
              salt: { type: 'string' },
              inputs: { type: 'array', items: { type: 'object' } },
              outputs: { type: 'array', items: { type: 'object' } },
            },
          },
        },
      },
      VerifyRequest: {
        type: 'object',
        required: ['model', 'proof'],
        properties: {
          model: { type: 'string', description: 'model id' },
          proof: { type: 'object', description: 'a zkinfer-proof/1 bundle, or a snarkjs Groth16 proof (then publicSignals is required)' },
          publicSignals: { type: 'array', items: { type: 'string' } },
        },
      },
      Verdict: { type: 'object', required: ['valid'], properties: { valid: { type: 'boolean' }, reason: { type: 'string' } } },
    },
  },
  paths: {
    '/healthz': { get: { summary: 'Liveness', responses: { 200: { description: 'the process answers' } } } },
    '/readyz': { get: { summary: 'Readiness', responses: { 200: { description: 'taking proof jobs' }, 503: error('starting or draining') } } },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics',
        responses: { 200: { description: 'text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    },
    '/openapi.json': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3', content: json({ type: 'object' }) } } } },
    '/v1/models': {
      get: {
        summary: 'List models',
        parameters: [{ name: 'name', in: 'query', schema: { type: 'string' }, description: 'only the versions of this name, oldest first' }],
        responses: {
          200: {
            description: 'all models (or the versions of ?name=)',
            content: json({ type: 'object', properties: { models: { type: 'array', items: ref('Model') } } }),
          },
        },
      },
      post: {
        summary: 'Upload an ONNX model; compile and setup run in the background',
        security: bearer,
        parameters: settingParameters,
        requestBody: {
          required: true,
          content: {
            'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
            'multipart/form-data': {
              schema: {
                type: 'object',
                required: ['model'],
                properties: {
                  model: { type: 'string', format: 'binary' },
                  ...settings,
                  data: {
                    type: 'array',
                    maxItems: 4,
                    items: { type: 'string', format: 'binary' },
                    description:
                      "the model's ONNX external data files (e.g. network.onnx.data), matched to each tensor's location by file name; one file serves every location",
                  },
                },
              },
            },
          },
        },
        responses: {
          202: { description: 'accepted; status is compiling (or ready when identical artifacts exist)', content: json(ref('Model')) },
          400: error('not decodable ONNX, bad options or calibration'),
          401: error('API key missing or wrong'),
          403: error('with API keys: the name belongs to another key (its versions come from one owner)'),
          413: error('over the model size limit'),
          422: error('an ONNX feature zkinfer does not compile'),
        },
      },
    },
    '/v1/models/{id}': {
      parameters: [idParam('model')],
      get: {
        summary: 'A model: status, build progress, shapes, constraints, quantization error, key hash',
        responses: { 200: { description: 'the model', content: json(ref('Model')) }, 404: error('no such model') },
      },
      delete: {
        summary: 'Delete a model and its artifacts; cancels its unfinished proof jobs',
        security: bearer,
        responses: {
          204: { description: 'deleted' },
          401: error('API key missing or wrong'),
          403: error('with API keys: a model another key uploaded'),
          404: error('no such model'),
        },
      },
    },
    '/v1/models/{id}/verification_key': {
      parameters: [idParam('model')],
      get: {
        summary: 'The Groth16 verifying key (snarkjs JSON)',
        responses: { 200: { description: 'verifying key', content: json({ type: 'object' }) }, 404: error('no such model'), 409: error('model not ready') },
      },
    },
    '/v1/models/{id}/artifacts/{name}': {
      parameters: [
        idParam('model'),
        {
          name: 'name',
          in: 'path',
          required: true,
          schema: { type: 'string', enum: ['circuit.wasm', 'circuit.zkey', 'main.r1cs', 'plan.json', 'verification_key.json', 'model.json'] },
          description:
            'model.json: the compiled model (shapes, scales, public layout, commitments); plan.json: the quantized graph (the quantization the client applies)',
        },
      ],
      get: {
        summary: 'A file for proving or verifying on the client. Immutable: ETag is its sha256, Cache-Control immutable',
        description:
          'circuit.wasm, circuit.zkey, main.r1cs and plan.json reveal the weights (as circuit constants with weights=fixed) and are served only when the model was uploaded with clientProving=true; 403 otherwise',
        responses: {
          200: {
            description: 'the file',
            headers: { ETag: { schema: { type: 'string' }, description: 'the sha256 of the file, quoted' } },
            content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
          },
          304: { description: 'not modified (If-None-Match)' },
          403: error('a proving artifact of a model not uploaded with clientProving=true'),
          404: error('no such model or artifact'),
          409: error('model not ready'),
        },
      },
    },
    '/v1/models/{id}/ceremony': {
      parameters: [idParam('model')],
      get: {
        summary: "The model's phase-2 ceremony transcript (README: Trust) and the identity of the ptau its keys rest on",
        description:
          "transcript: each contribution's name, snarkjs contribution hash and time, the beacon, finalized or not; null for a model without a ceremony",
        responses: {
          200: {
            description: 'the transcript',
            content: json({
              type: 'object',
              properties: {
                transcript: { type: 'object', nullable: true },
                ptau: { type: 'object', properties: { file: { type: 'string' }, power: { type: 'integer' }, development: { type: 'boolean' } } },
              },
            }),
          },
          404: error('no such model'),
          409: error('model not ready'),
        },
      },
    },
    '/v1/models/{id}/ceremony/{file}': {
      parameters: [
        idParam('model'),
        {
          name: 'file',
          in: 'path',
          required: true,
          schema: { type: 'string', enum: ['zkey', 'r1cs', 'ptau'] },
          description: 'zkey: the current key (the next contribution builds on it); r1cs: the circuit; ptau: the powers of tau',
        },
      ],
      get: {
        summary: 'What contributors and auditors need: the current zkey, the r1cs, the ptau (not cached: the zkey changes with each contribution)',
        description:
          'zkey and r1cs hold weights fixed in the circuit: served for models with a ceremony (which publishes the circuit to its contributors), with clientProving, or with weights that are not circuit constants; 403 otherwise',
        responses: {
          200: { description: 'the file', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
          403: error('the circuit of this model is private'),
          404: error('no such model or file'),
          409: error('model not ready'),
        },
      },
    },
    '/v1/models/{id}/ceremony/contributions': {
      parameters: [idParam('model')],
      post: {
        summary: 'Add a contribution: the zkey a contributor made from the current one (zkinfer ceremony contribute)',
        description:
          'accepted only if it extends the current chain by exactly one contribution with a fresh delta and snarkjs zkey verify accepts it against the r1cs and ptau',
        security: bearer,
        requestBody: { required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
        responses: {
          201: { description: 'accepted: the new transcript', content: json({ type: 'object', properties: { transcript: { type: 'object' } } }) },
          400: error('refused, with the reason: another circuit, not extending the chain, a known delta, an invalid contribution'),
          401: error('missing or invalid API key'),
          409: error('no ceremony, or it is finalized'),
          413: error('over the model size limit'),
        },
      },
    },
    '/v1/models/{id}/ceremony/finalize': {
      parameters: [idParam('model')],
      post: {
        summary: 'Close the ceremony with a public random beacon (snarkjs zkey beacon); proofs are accepted afterwards',
        security: bearer,
        requestBody: {
          required: true,
          content: json({
            type: 'object',
            required: ['ownerToken', 'beacon'],
            properties: {
              ownerToken: { type: 'string', description: 'ceremonyOwnerToken from the upload response' },
              beacon: { type: 'string', description: 'hex, 1 to 255 bytes (e.g. a future block hash)' },
              iterations: { type: 'integer', minimum: 10, maximum: 63, default: 10, description: 'beacon hash iterations, as a power of two' },
            },
          }),
        },
        responses: {
          200: { description: 'finalized: the transcript', content: json({ type: 'object', properties: { transcript: { type: 'object' } } }) },
          400: error('bad beacon'),
          403: error("not the owner's token"),
          409: error('no ceremony, no contribution yet, or already finalized'),
        },
      },
    },
    '/v1/models/{id}/verifier.sol': {
      parameters: [idParam('model')],
      get: {
        summary: 'A Solidity verifier contract for the model (snarkjs groth16 template)',
        responses: {
          200: { description: 'Solidity source', content: { 'text/plain': { schema: { type: 'string' } } } },
          404: error('no such model'),
          409: error('model not ready'),
        },
      },
    },
    '/v1/models/{id}/proofs': {
      parameters: [idParam('model')],
      post: {
        summary: 'Queue a proof of the model on an input, or record a proof the client made itself',
        description:
          'With {"bundle": …} (a zkinfer-proof/1 bundle made by the client library\'s proveLocally): the service verifies it and records it as a done job of node "client"; it never sees the input.',
        parameters: [
          {
            name: 'wait',
            in: 'query',
            schema: { type: 'number', minimum: 0, maximum: MAX_WAIT_SECONDS },
            description: 'seconds to wait for the result before answering 202',
          },
        ],
        requestBody: {
          required: true,
          content: json({
            oneOf: [
              ref('InputDocument'),
              {
                type: 'object',
                required: ['bundle'],
                properties: { bundle: { type: 'object', description: 'a zkinfer-proof/1 bundle, without its opening' } },
              },
            ],
          }),
        },
        responses: {
          200: { description: 'finished within ?wait; or, for a bundle, the job already recorded for its statement', content: json(ref('ProofJob')) },
          201: { description: 'a client-made bundle verified and recorded as a done job', content: json(ref('ProofJob')) },
          202: { description: 'queued', content: json(ref('ProofJob')) },
          400: error('input of the wrong shape, not finite numbers, or out of the circuit range; a bundle that does not verify (PROOF_INVALID)'),
          404: error('no such model'),
          409: error('model not ready'),
          413: error('body over the limit'),
          429: { ...error('queue full'), headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'seconds' } } },
        },
      },
    },
    '/v1/proofs/{id}': {
      parameters: [idParam('proof job')],
      get: {
        summary: 'A proof job: status, timings, and when done its output, proof and public signals',
        responses: {
          200: { description: 'the job', content: json(ref('ProofJob')) },
          404: error('no such job (with API keys configured: or another client’s)'),
        },
      },
      delete: {
        summary: 'Cancel a queued or running job',
        responses: {
          200: { description: 'cancelled', content: json(ref('ProofJob')) },
          404: error('no such job (with API keys configured: or another client’s)'),
          409: error('already finished'),
        },
      },
    },
    '/v1/verify': {
      post: {
        summary: "Verify a proof against a model's keys",
        requestBody: { required: true, content: json(ref('VerifyRequest')) },
        responses: {
          200: { description: 'the verdict', content: json(ref('Verdict')) },
          400: error('not a proof'),
          404: error('no such model'),
          409: error('model not ready'),
        },
      },
    },
  },
} as const;
