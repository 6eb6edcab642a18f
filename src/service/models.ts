/**
 * Models as the service sees them: uploads become records plus a background build, ready models
 * are looked up with their compiled info, inputs are checked against them before a job is queued,
 * and proofs are verified against their keys.
 */
import { hasGraphSettings, prepareWithDocs } from '../model/prepare.js';

import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { sha256File, sha256Hex } from '../core/hash.js';
import { type ModelVisibility, needsSalt } from '../commit/visibility.js';
import { parseFieldElement } from '../core/snarkjs.js';
import { exportSolidityVerifier } from '../chain/verifier.js';
import { errorBody, isZkError, parseOrThrow, ZkError } from '../core/errors.js';
import { Lru } from '../core/lru.js';
import type { SnarkProof } from '../core/snarkjs.js';
import { parseInputs } from '../io/input.js';
import { DEFAULT_HEADROOM } from '../model/defaults.js';
import type { CompileSettingsOf } from '../core/settings.js';
import { DEFAULT_PROOF_SYSTEM } from '../core/systems.js';
import { requireFinalKey } from '../model/trust.js';
import { modelFiles, type ModelInfo } from '../model/layout.js';
import { inlineExternalData, uploadedSource } from '../onnx/external.js';
import { loadOnnx } from '../onnx/load.js';
import { checkLoads, outputAccuracy, ReferenceSession } from '../reference/onnxruntime.js';
import { requireSupported } from '../quantize/trace.js';
import { PROOF_SYSTEM } from '../systems/index.js';
import { quantizeForPlan } from '../quantize/input.js';
import type { QuantizedGraph } from '../quantize/plan.js';
import { planFromJson } from '../quantize/serialize.js';
import { loadVerificationKey, type Groth16VerificationKey } from '../setup/index.js';
import { bundleFromSignals, decodeTensor } from '../prove/bundle.js';
import { parseProofBundle, scalarElement, snarkProofSchema, verifyBundle, type Verdict } from '../verify/verify.js';
import type { ModelBuilder } from '../jobs/compiles.js';
import { ArtifactStore } from '../store/artifacts.js';
import type { CompileSettings, ModelRecord, ModelStore } from '../store/models.js';
import type { JobRecord, JobStore, SubmittedInput } from '../store/jobs.js';

/** An upload: the model, its compile settings (src/core/settings.ts) and what the service does with it. */
export interface Upload extends CompileSettingsOf {
  onnx: Uint8Array;
  /** The files the model's external data lives in, by file name (see src/onnx/external.ts). */
  externalData?: ReadonlyMap<string, Uint8Array>;
  name?: string;
  /** One input document or an array of them (see src/io/input.ts). */
  calibration?: unknown;
  /** Publish the proving artifacts so clients can prove on their own machines (ModelRecord.clientProving). */
  clientProving?: boolean;
  /** Open a phase-2 ceremony: sha256 (hex) of the owner's token (CompileSettings.ceremonyOwner). */
  ceremonyOwner?: string;
  /** With API keys: the uploading client (ModelRecord.owner). */
  owner?: string;
}

/**
 * The files a client may download (GET /v1/models/:id/artifacts/:name): `proving` ones only from
 * models whose owner opted in (clientProving), since with fixed weights the wasm, r1cs and zkey
 * hold the weights as constants, and the plan holds them in any visibility.
 */
export const ARTIFACTS = {
  'circuit.wasm': { file: 'wasm', type: 'application/wasm', proving: true },
  'circuit.zkey': { file: 'zkey', type: 'application/octet-stream', proving: true },
  'main.r1cs': { file: 'r1cs', type: 'application/octet-stream', proving: true },
  'plan.json': { file: 'plan', type: 'application/json', proving: true },
  'verification_key.json': { file: 'vkey', type: 'application/json', proving: false },
  'model.json': { file: 'info', type: 'application/json', proving: false },
} as const satisfies Record<string, { file: keyof ReturnType<typeof modelFiles>; type: string; proving: boolean }>;
export type ArtifactName = keyof typeof ARTIFACTS;

/** Whether clients can prove a model of this visibility at all: they must hold its weights. */
export const clientProvable = (v: ModelVisibility): boolean => v.weights === 'fixed' || v.weights === 'public';

/** Models whose onnxruntime session stays loaded for checking proof requests. */
const REFERENCE_SESSIONS = 4;

export interface ReadyModel {
  record: ModelRecord;
  info: ModelInfo;
  dir: string;
}

export class ModelService {
  private readonly infos = new Map<string, ModelInfo>();
  private readonly vkeys = new Map<string, Promise<Groth16VerificationKey>>();
  /** Plans for checking inputs in the request; they can be large, so only a few stay. */
  private readonly plans = new Lru<string, QuantizedGraph>(8);
  /**
   * onnxruntime sessions of the models proof requests were checked against (the accuracy preview),
   * one per model version: loading the model per request cost a model load each time. Released when
   * evicted or when the model goes.
   */
  private readonly references = new Lru<string, Promise<ReferenceSession>>(
    REFERENCE_SESSIONS,
    (s) =>
      void s.then(
        (r) => r.release(),
        () => {},
      ),
  );
  /** sha256 of served artifacts by `key/name`: they never change once a model is ready. */
  private readonly hashes = new Map<string, Promise<string>>();

  constructor(
    private readonly models: ModelStore,
    private readonly artifacts: ArtifactStore,
    private readonly builder: ModelBuilder,
    private readonly ptau: string | undefined,
    private readonly jobs: JobStore,
  ) {}

  /**
   * Registers an upload and starts its build. What can be checked at once is, so a bad upload is a
   * 400 rather than a failed record: the ONNX must decode (its external data inlined from the upload,
   * its tensors within MAX_ELEMENTS), its ops must be ones we compile, onnxruntime must load it, and
   * the calibration must fit its inputs.
   * Problems found while compiling (unsupported ops, the constraint limit) fail the record.
   */
  async upload(u: Upload): Promise<ModelRecord> {
    if (u.onnx.length === 0) throw new ZkError('INPUT_INVALID', 'the model file is empty');
    // A ceremony replaces Groth16's phase 2; keys of a system without one would silently become Groth16's.
    if (u.ceremonyOwner && PROOF_SYSTEM[u.system ?? DEFAULT_PROOF_SYSTEM].phase2 === 'none') {
      throw new ZkError(
        'INPUT_INVALID',
        `ceremony=open: ${u.system} keys come from the ptau alone and have no phase 2 to hold a ceremony for; use system=groth16`,
      );
    }
    // From here on the model is self-contained: nothing reads a path it names.
    const onnx = inlineExternalData(u.onnx, u.externalData && uploadedSource(u.externalData));
    const graph = loadOnnx(onnx);
    // Ops we cannot compile are a 422 now, every node named, not a failed build after the queue.
    requireSupported(graph);
    await checkLoads(onnx);
    const docs = u.calibration === undefined ? undefined : Array.isArray(u.calibration) ? u.calibration : [u.calibration];
    if (docs?.length === 0) throw new ZkError('INPUT_INVALID', 'calibration must hold at least one input document');
    if (u.clientProving && u.visibility && !clientProvable(u.visibility)) {
      throw new ZkError(
        'INPUT_INVALID',
        `clientProving: a client cannot prove a model with ${u.visibility.weights} weights without holding them; use weights=fixed or weights=public`,
      );
    }
    const prepared = prepareWithDocs(graph, u.graph ?? {}, docs ?? []);
    // Unset settings stay unset: compile applies the defaults (a scale chosen by calibration, as the CLI's).
    const settings: CompileSettings = {
      ...(u.scale !== undefined ? { scale: u.scale } : {}),
      headroomBits: u.headroomBits ?? DEFAULT_HEADROOM,
      ...(docs ? { samples: prepared.samples } : {}),
      ...(hasGraphSettings(u.graph) ? { graph: u.graph } : {}),
      ...(u.acceptError ? { acceptError: true } : {}),
      ...(this.ptau ? { ptau: this.ptau } : {}),
      ...(u.visibility ? { visibility: u.visibility } : {}),
      ...(u.ceremonyOwner ? { ceremonyOwner: u.ceremonyOwner } : {}),
      ...(u.system && u.system !== 'groth16' ? { system: u.system } : {}),
    };
    const name = u.name ?? (graph.name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64) || 'model');
    const onnxSha256 = sha256Hex(onnx);
    const key = ArtifactStore.key(onnxSha256, name, settings);
    this.models.requireNameOf(name, u.owner); // before anything is written
    if (!this.artifacts.readyInfo(key)) this.artifacts.saveUpload(key, onnx);
    const now = Date.now();
    const fields = {
      id: randomUUID(),
      name,
      key,
      onnxSha256,
      settings,
      status: 'compiling' as const,
      clientProving: u.clientProving ?? false,
      ...(u.owner ? { owner: u.owner } : {}),
      createdAt: now,
      updatedAt: now,
    };
    const record: ModelRecord = { ...fields, version: this.models.insert(fields) };
    void this.builder.build(record);
    return this.get(record.id);
  }

  get(id: string): ModelRecord {
    const record = this.models.get(id);
    if (!record) throw new ZkError('NOT_FOUND', `no model ${id}`, { id });
    return record;
  }

  /** All models, or the versions of one name. */
  list(name?: string): ModelRecord[] {
    return this.models.list(name);
  }

  /**
   * The compiled info of a model whose build has finished (undefined otherwise). ARTIFACT_MISSING
   * when its files are gone or unreadable (the message names the model, not a path).
   */
  infoOf(record: ModelRecord): ModelInfo | undefined {
    if (record.status !== 'ready') return undefined;
    let info = this.infos.get(record.key);
    if (!info) {
      try {
        info = this.artifacts.readyInfo(record.key);
      } catch {
        info = undefined;
      }
      if (!info)
        throw new ZkError('ARTIFACT_MISSING', `the artifacts of model ${record.id} are missing or unreadable in the data directory`, { id: record.id });
      this.infos.set(record.key, info);
    }
    return info;
  }

  /**
   * The record as clients should see it, with its info: a ready model whose artifacts are missing
   * shows as failed with the reason, so one broken model does not fail a listing of all.
   */
  inspect(record: ModelRecord): { record: ModelRecord; info?: ModelInfo } {
    try {
      return { record, info: this.infoOf(record) };
    } catch (e) {
      if (!isZkError(e) || e.code !== 'ARTIFACT_MISSING') throw e;
      return { record: { ...record, status: 'failed', error: errorBody(e) } };
    }
  }

  ready(id: string): ReadyModel {
    const record = this.get(id);
    if (record.status !== 'ready') throw new ZkError('CONFLICT', `model ${id} is ${record.status}, not ready`, { id, status: record.status });
    return { record, info: this.infoOf(record)!, dir: this.artifacts.dir(record.key) };
  }

  /** Deletes the record; the artifacts go with their last user, and a build that runs for it stops. */
  remove(id: string): void {
    const { key } = this.get(id);
    this.models.delete(id);
    if (this.models.usersOf(key) > 0) return;
    this.forget(key);
    if (this.builder.progressOf(key)) this.builder.cancel(key);
    else this.artifacts.remove(key);
  }

  /**
   * Parses an input document against the model's shapes and runs the quantized model on it with
   * range checks, so an input that would overflow the circuit is a 400 now, not a failed job later.
   * That run's output comes back as the job's preview, with its accuracy against onnxruntime.
   */
  async checkInput(m: ReadyModel, doc: unknown): Promise<SubmittedInput> {
    requireFinalKey(m.info);
    const values = parseInputs(doc, m.info.inputs);
    const plan = this.plans.get(m.record.key, () => planFromJson(readFileSync(modelFiles(m.dir).plan, 'utf8')));
    const { outputs } = quantizeForPlan(plan, values);
    const salt = (doc as { salt?: unknown }).salt;
    if (salt !== undefined && !needsSalt(m.info.visibility))
      throw new ZkError('INPUT_INVALID', `"salt": model ${m.info.name} hashes neither its input nor its output`);
    // The output the proof will show (the prover checks its circuit against this same evaluation).
    const output = m.info.outputs.map((t, o) => ({ name: t.name, dims: t.dims, values: decodeTensor(t, outputs[o]).values }));
    const accuracy = await outputAccuracy(
      await this.reference(m),
      m.info.inputs,
      m.info.outputs,
      values,
      output.map((o) => o.values),
    );
    return { values, ...(salt === undefined ? {} : { salt: String(parseFieldElement(salt, '"salt"')) }), preview: { output, accuracy } };
  }

  /** The model's onnxruntime session, loaded once per model version (a failed load is not kept). */
  reference(m: ReadyModel): Promise<ReferenceSession> {
    const key = m.record.key;
    const session = this.references.get(key, () => ReferenceSession.load(readFileSync(modelFiles(m.dir).onnx)));
    session.catch(() => this.references.delete(key));
    return session;
  }

  /**
   * A downloadable artifact of a ready model: its file, media type and sha256 (hex, the ETag).
   * CONFLICT while its phase-2 ceremony is unfinished (its key is neither final nor safe, and the
   * files are served as immutable), NOT_FOUND for a name not in ARTIFACTS, FORBIDDEN for a proving
   * artifact of a model whose owner did not opt in to client proving.
   */
  async artifact(m: ReadyModel, name: string): Promise<{ file: string; type: string; sha256: string }> {
    requireFinalKey(m.info);
    if (!Object.hasOwn(ARTIFACTS, name)) throw new ZkError('NOT_FOUND', `no artifact "${name}"; one of ${Object.keys(ARTIFACTS).join(', ')}`, { name });
    const spec = ARTIFACTS[name as ArtifactName];
    if (spec.proving && !m.record.clientProving) {
      throw new ZkError(
        'FORBIDDEN',
        `model ${m.record.id} is not available for client-side proving: its owner did not upload it with clientProving=true (${name} reveals its weights)`,
        { id: m.record.id, name },
      );
    }
    const file = modelFiles(m.dir)[spec.file];
    if (!existsSync(file)) throw new ZkError('ARTIFACT_MISSING', `model ${m.record.id} has no ${name}`, { id: m.record.id, name });
    const id = `${m.record.key}/${name}`;
    let sha256 = this.hashes.get(id);
    if (!sha256) {
      this.hashes.set(id, (sha256 = sha256File(file)));
      sha256.catch(() => this.hashes.delete(id));
    }
    return { file, type: spec.type, sha256: await sha256 };
  }

  /** Forgets what was read of a model's artifacts: its ceremony changed its key. */
  refresh(key: string): void {
    this.forget(key);
    rmSync(join(this.artifacts.dir(key), 'verifier.sol'), { force: true });
  }

  /** Drops every cached read of the artifacts under `key` (model.json, vkey, plan, file hashes). */
  private forget(key: string): void {
    this.infos.delete(key);
    this.vkeys.delete(key);
    this.plans.delete(key);
    this.references.delete(key);
    for (const name of Object.keys(ARTIFACTS)) this.hashes.delete(`${key}/${name}`);
  }

  /** The model's verifying key; CONFLICT while its ceremony is open (requireFinalKey). */
  verificationKey(m: ReadyModel): Promise<Groth16VerificationKey> {
    requireFinalKey(m.info);
    let vkey = this.vkeys.get(m.record.key);
    if (!vkey) {
      this.vkeys.set(m.record.key, (vkey = loadVerificationKey(m.dir)));
      // A failure is not kept: a file missing for a moment is served once it is back.
      vkey.catch(() => this.vkeys.delete(m.record.key));
    }
    return vkey;
  }

  /**
   * A zkinfer proof bundle, or a bare snarkjs proof with its public signals: that one is checked as
   * the bundle it stands for, so both forms get the same checks.
   */
  async verify(m: ReadyModel, proof: unknown, publicSignals: unknown): Promise<Verdict> {
    const vkey = await this.verificationKey(m);
    if (typeof proof === 'object' && proof !== null && 'format' in proof) {
      // A bundle carries its own signals: others beside it were ignored, so a client checking them was told "valid".
      if (publicSignals !== undefined)
        throw new ZkError('INPUT_INVALID', 'a proof bundle carries its public signals: send "publicSignals" only with a bare snarkjs proof');
      return verifyBundle(m.info, vkey, parseProofBundle(proof));
    }
    const count = m.info.publicSignals;
    const bare = z.object({ proof: snarkProofSchema, publicSignals: z.array(scalarElement).length(count, `model ${m.info.name} has ${count} public signals`) });
    const { proof: parsed, publicSignals: signals } = parseOrThrow(bare, { proof, publicSignals }, 'not a proof with public signals');
    return verifyBundle(m.info, vkey, bundleFromSignals(m.info, parsed.protocol, parsed as SnarkProof, signals));
  }

  /**
   * Records a client-made proof bundle as a done job (node "client") once it verifies against the
   * model: PROOF_INVALID (400) with the verifier's reason otherwise. Only the shareable bundle is
   * kept: parsing drops anything else sent with it (an opening with private values included).
   */
  async receiveBundle(m: ReadyModel, doc: unknown, client: string): Promise<{ job: JobRecord; created: boolean }> {
    const bundle = parseProofBundle(doc);
    const v = await verifyBundle(m.info, await this.verificationKey(m), bundle);
    if (!v.valid) throw new ZkError('PROOF_INVALID', `the bundle does not verify against model ${m.record.id}: ${v.reason}`, { reason: v.reason });
    const { witnessMs = 0, proveMs = 0 } = bundle.timings ?? {};
    return this.jobs.insertDone({
      id: randomUUID(),
      modelId: m.record.id,
      createdAt: Date.now(),
      client,
      node: 'client',
      result: bundle,
      timings: { queuedMs: 0, witnessMs, proveMs, runMs: witnessMs + proveMs },
      statement: sha256Hex(Buffer.from(bundle.publicSignals.join(','))),
    });
  }

  /** The Solidity verifier of the model's keys, rendered once and kept with the artifacts. */
  async solidityVerifier(m: ReadyModel): Promise<string> {
    const file = join(m.dir, 'verifier.sol');
    if (existsSync(file)) return readFileSync(file, 'utf8');
    const { source } = await exportSolidityVerifier(m.dir);
    const tmp = `${file}.${randomUUID()}.tmp`;
    writeFileSync(tmp, source);
    renameSync(tmp, file);
    return source;
  }
}
