/**
 * `zkinfer/client`: prove and verify on the user's own machine against a zkinfer service, in Node or
 * (bundled, served at /client.js) in a browser. No server dependency: it downloads a model's
 * artifacts from the API and runs the same quantization, prover and verifier code as the service.
 *
 * @example
 * import { connect } from 'zkinfer/client';
 * const zk = connect('http://localhost:8080');
 * const model = await zk.getModel(id);
 * const { bundle, opening } = await zk.proveLocally(model, { input: [[0.25, -0.5, 0.75]] });
 * console.log(await zk.verify(model, bundle, { inputCommitment: bundle.commitments?.input }));
 * await zk.submit(model, bundle); // the service verifies and records it; it never sees the input
 * await zk.close(); // ends snarkjs' worker threads, so the script exits
 */
import type { modelView } from '../api/views.js';
import { consumerConstructorArgs as constructorArgs, consumerParameters } from '../chain/abi.js';
import { type SolidityCalldata, solidityCalldata } from '../chain/calldata.js';
import { ZkError, type ZkErrorCode } from '../core/errors.js';
import { releaseCurve } from '../core/snarkjs.js';
import { parseInputs } from '../io/input.js';
import type { ModelInfo } from '../model/layout.js';
import { type ProofBundle, type ProofOpening, publicBundle } from '../prove/bundle.js';
import { CircuitProver } from '../prove/engine.js';
import { planFromJson } from '../quantize/serialize.js';
import { type Expectations, parseProofBundle, type Verdict, verifyBundle } from '../verify/verify.js';

export { inputCommitment, outputCommitment } from '../commit/open.js';
export { parseProofBundle, type Expectations, type Verdict } from '../verify/verify.js';
export type { ProofBundle, ProofOpening } from '../prove/bundle.js';
export type { SolidityCalldata } from '../chain/calldata.js';
export type { ModelInfo } from '../model/layout.js';
export { ZkError };

/** GET /v1/models/:id as the service answers it. */
export type ModelView = ReturnType<typeof modelView>;

/** A ready model as the client holds it: the API's view and its compiled description (model.json). */
export interface RemoteModel {
  id: string;
  view: ModelView;
  info: ModelInfo;
}

export interface ConnectOptions {
  /** Sent as `Authorization: Bearer <apiKey>` (the service needs one for uploads when keys are configured). */
  apiKey?: string;
}

/** A local proof: the shareable bundle, and what only the prover keeps (private values, salt). */
export interface LocalProof {
  bundle: ProofBundle;
  opening?: ProofOpening;
}

/**
 * A connection to a zkinfer service at `baseUrl` (e.g. `http://localhost:8080`; in a page served by
 * the service, `location.origin`). Artifacts it downloads are kept in memory (and by a browser's
 * HTTP cache: the service marks them immutable).
 */
/** The service's JSON error (`{error: {code, message, details}}`) as a ZkError; INTERNAL when the body has none. */
const responseError = (
  doc: { error?: { code?: ZkErrorCode; message?: string; details?: Record<string, unknown> } } | undefined,
  what: string,
  status: number,
): ZkError => new ZkError(doc?.error?.code ?? 'INTERNAL', doc?.error?.message ?? `${what} answered ${status}`, doc?.error?.details);

export function connect(baseUrl: string, opts: ConnectOptions = {}): ZkinferClient {
  return new ZkinferClient(baseUrl.replace(/\/+$/, ''), opts);
}

export class ZkinferClient {
  private readonly downloads = new Map<string, Promise<Uint8Array>>();
  private readonly provers = new Map<string, Promise<CircuitProver>>();

  constructor(
    readonly baseUrl: string,
    private readonly opts: ConnectOptions,
  ) {}

  /** JSON from the API; a non-2xx answer throws a ZkError with the service's code and message. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    const doc = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw responseError(doc, `${method} ${path}`, res.status);
    return doc as T;
  }

  /** The models, optionally only the versions of one name (GET /v1/models?name=). */
  async listModels(filter: { name?: string } = {}): Promise<ModelView[]> {
    const query = filter.name === undefined ? '' : `?name=${encodeURIComponent(filter.name)}`;
    return (await this.request<{ models: ModelView[] }>('GET', `/v1/models${query}`)).models;
  }

  /** A ready model with its model.json. Errors: NOT_FOUND; CONFLICT while it is still compiling. */
  async getModel(id: string): Promise<RemoteModel> {
    const view = await this.request<ModelView>('GET', `/v1/models/${encodeURIComponent(id)}`);
    if (view.status !== 'ready') throw new ZkError('CONFLICT', `model ${id} is ${view.status}, not ready`, { id, status: view.status });
    const info = JSON.parse(new TextDecoder().decode(await this.artifact(view, 'model.json'))) as ModelInfo;
    return { id, view, info };
  }

  /**
   * A model artifact's bytes (GET /v1/models/:id/artifacts/:name). FORBIDDEN for the proving ones
   * (circuit.wasm, circuit.zkey, main.r1cs, plan.json) of a model not uploaded with clientProving.
   */
  artifact(model: ModelView | RemoteModel, name: string): Promise<Uint8Array> {
    const path = `/v1/models/${encodeURIComponent(model.id)}/artifacts/${name}`;
    let bytes = this.downloads.get(path);
    if (!bytes) {
      this.downloads.set(
        path,
        (bytes = (async () => {
          const res = await fetch(`${this.baseUrl}${path}`);
          if (!res.ok) {
            throw responseError(await res.json().catch(() => undefined), `GET ${path}`, res.status);
          }
          return new Uint8Array(await res.arrayBuffer());
        })()),
      );
      bytes.catch(() => this.downloads.delete(path));
    }
    return bytes;
  }

  /** The model's verifying key (snarkjs JSON). */
  async verificationKey(model: RemoteModel): Promise<unknown> {
    return JSON.parse(new TextDecoder().decode(await this.artifact(model, 'verification_key.json')));
  }

  /**
   * Proves the model on this machine: `input` is the API's input document (`{"input": nested}` or
   * `{"input_data": [[…]]}`, see POST /v1/models/:id/proofs). It is quantized and range-checked as
   * the service would, the witness comes from the circuit's wasm, snarkjs proves, and the
   * commitments are recomputed with circomlibjs; the result is the bundle and opening the service
   * would return. `salt` (decimal string or bigint below the BN254 modulus) blinds hashed input and
   * output commitments; default: a fresh random one, returned in the opening. Nothing is sent.
   * Errors: FORBIDDEN (not opted in to client proving), INPUT_INVALID/SHAPE_MISMATCH,
   * INPUT_OUT_OF_RANGE, WITNESS_FAILED.
   */
  async proveLocally(model: RemoteModel, input: unknown, opts: { salt?: bigint | string; singleThread?: boolean } = {}): Promise<LocalProof> {
    const values = parseInputs(input, model.info.inputs);
    const key = `${model.id}#${model.view.vkeyHash}`;
    let prover = this.provers.get(key);
    if (!prover) {
      this.provers.set(key, (prover = this.loadProver(model)));
      prover.catch(() => this.provers.delete(key));
    }
    const { opening, ...bundle } = await (await prover).prove(values, {
      salt: opts.salt === undefined ? undefined : BigInt(opts.salt),
      singleThread: opts.singleThread,
    });
    return { bundle: publicBundle(bundle), ...(opening ? { opening } : {}) };
  }

  private async loadProver(model: RemoteModel): Promise<CircuitProver> {
    const [plan, wasm, zkey] = await Promise.all(['plan.json', 'circuit.wasm', 'circuit.zkey'].map((n) => this.artifact(model, n)));
    return CircuitProver.fromArtifacts({ info: model.info, plan: planFromJson(new TextDecoder().decode(plan)), wasm, zkey });
  }

  /**
   * Verifies a bundle (object or parsed JSON) against the model's verifying key, here, with what the
   * API serves. `expectations`: commitments the proof must show (e.g. your own input's, from
   * `inputCommitment`). INPUT_INVALID when `bundle` is not a zkinfer proof.
   */
  async verify(model: RemoteModel, bundle: unknown, expectations: Expectations = {}): Promise<Verdict> {
    return verifyBundle(model.info, await this.verificationKey(model), parseProofBundle(bundle), expectations);
  }

  /**
   * Hands a locally made proof to the service (POST /v1/models/:id/proofs with `{"bundle": …}`): it
   * verifies it and records it as a done job of node "client". Only the bundle is sent, never the
   * opening. PROOF_INVALID when it does not verify.
   */
  submit(model: RemoteModel, bundle: ProofBundle): Promise<{ id: string; status: string; node: string }> {
    return this.request('POST', `/v1/models/${encodeURIComponent(model.id)}/proofs`, { bundle: publicBundle(bundle) });
  }

  /** Ends snarkjs' worker threads (and forgets loaded provers) so a Node script can exit. */
  async close(): Promise<void> {
    this.provers.clear();
    await close();
  }
}

/** The verifier contract's calldata for a bundle: `args` for `verifyProof`, the proof words, and the encoded call. */
export const calldata = (bundle: ProofBundle): Promise<SolidityCalldata> => solidityCalldata(bundle);

/**
 * contracts/ZkInferConsumer.sol's constructor arguments for this model, in positional order, the
 * deployed verifier's address first. INPUT_INVALID for models the consumer cannot take (public
 * weights, outputs at several scales).
 */
export const consumerConstructorArgs = (model: RemoteModel | ModelInfo, verifierAddress: string) =>
  constructorArgs(consumerParameters('info' in model ? model.info : model), verifierAddress);

/** Ends snarkjs' curve worker threads: a script that proved or verified exits only after this. */
export const close = (): Promise<void> => releaseCurve();
