/**
 * Models as the service sees them: uploads become records plus a background build, ready models
 * are looked up with their compiled info, inputs are checked against them before a job is queued,
 * and proofs are verified against their keys.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { type ModelVisibility, needsSalt } from '../commit/visibility.js';
import { parseFieldElement } from '../core/snarkjs.js';
import type { ProofInput } from '../jobs/tasks.js';
import { exportSolidityVerifier } from '../chain/verifier.js';
import { ZkError } from '../core/errors.js';
import { Lru } from '../core/lru.js';
import type { SnarkProof } from '../core/snarkjs.js';
import { parseInputs } from '../io/input.js';
import { DEFAULT_HEADROOM, DEFAULT_SCALE } from '../model/compile.js';
import { modelFiles, type ModelInfo } from '../model/layout.js';
import { loadOnnx } from '../onnx/load.js';
import { quantizeForPlan } from '../quantize/input.js';
import type { QuantizedGraph } from '../quantize/plan.js';
import { planFromJson } from '../quantize/serialize.js';
import { loadVerificationKey, type Groth16VerificationKey } from '../setup/index.js';
import { bundleFromSignals } from '../prove/bundle.js';
import { parseProofBundle, snarkProofSchema, verifyBundle, type Verdict } from '../verify/verify.js';
import type { ModelBuilder } from '../jobs/compiles.js';
import { ArtifactStore } from '../store/artifacts.js';
import type { CompileSettings, ModelRecord, ModelStore } from '../store/models.js';
import type { JobRecord, JobStore } from '../store/jobs.js';

export interface Upload {
  onnx: Uint8Array;
  name?: string;
  scale?: number;
  headroomBits?: number;
  /** One input document or an array of them (see src/io/input.ts). */
  calibration?: unknown;
  visibility?: ModelVisibility;
  /** Publish the proving artifacts so clients can prove on their own machines (ModelRecord.clientProving). */
  clientProving?: boolean;
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

export interface ReadyModel {
  record: ModelRecord;
  info: ModelInfo;
  dir: string;
}

/** Names end up in logs, metrics and the proof bundle: keep them plain. */
export const MODEL_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export class ModelService {
  private readonly infos = new Map<string, ModelInfo>();
  private readonly vkeys = new Map<string, Promise<Groth16VerificationKey>>();
  /** Plans for checking inputs in the request; they can be large, so only a few stay. */
  private readonly plans = new Lru<string, QuantizedGraph>(8);
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
   * 400 rather than a failed record: the ONNX must decode and the calibration must fit its inputs.
   * Problems found while compiling (unsupported ops, the constraint limit) fail the record.
   */
  upload(u: Upload): ModelRecord {
    if (u.onnx.length === 0) throw new ZkError('INPUT_INVALID', 'the model file is empty');
    const graph = loadOnnx(u.onnx);
    const docs = u.calibration === undefined ? undefined : Array.isArray(u.calibration) ? u.calibration : [u.calibration];
    if (docs?.length === 0) throw new ZkError('INPUT_INVALID', 'calibration must hold at least one input document');
    if (u.clientProving && u.visibility && !clientProvable(u.visibility)) {
      throw new ZkError('INPUT_INVALID', `clientProving: a client cannot prove a model with ${u.visibility.weights} weights without holding them; use weights=fixed or weights=public`);
    }
    const settings: CompileSettings = {
      scale: u.scale ?? DEFAULT_SCALE,
      headroomBits: u.headroomBits ?? DEFAULT_HEADROOM,
      ...(docs ? { samples: docs.map((d) => parseInputs(d, graph.inputs)) } : {}),
      ...(this.ptau ? { ptau: this.ptau } : {}),
      ...(u.visibility ? { visibility: u.visibility } : {}),
    };
    const name = u.name ?? (graph.name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64) || 'model');
    const onnxSha256 = createHash('sha256').update(u.onnx).digest('hex');
    const key = ArtifactStore.key(onnxSha256, name, settings);
    if (!this.artifacts.readyInfo(key)) this.artifacts.saveUpload(key, u.onnx);
    const now = Date.now();
    const fields = { id: randomUUID(), name, key, onnxSha256, settings, status: 'compiling' as const, clientProving: u.clientProving ?? false, createdAt: now, updatedAt: now };
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

  /** The compiled info of a model whose build has finished (undefined otherwise). */
  infoOf(record: ModelRecord): ModelInfo | undefined {
    if (record.status !== 'ready') return undefined;
    let info = this.infos.get(record.key);
    if (!info) {
      info = this.artifacts.readyInfo(record.key);
      if (!info) throw new ZkError('ARTIFACT_MISSING', `the artifacts of model ${record.id} are missing from the data directory`, { id: record.id });
      this.infos.set(record.key, info);
    }
    return info;
  }

  ready(id: string): ReadyModel {
    const record = this.get(id);
    if (record.status !== 'ready') throw new ZkError('CONFLICT', `model ${id} is ${record.status}, not ready`, { id, status: record.status });
    return { record, info: this.infoOf(record)!, dir: this.artifacts.dir(record.key) };
  }

  /** Deletes the record; the artifacts go with their last user (after the build, if one runs). */
  remove(id: string): void {
    const { key } = this.get(id);
    this.models.delete(id);
    if (this.models.usersOf(key) > 0) return;
    this.infos.delete(key);
    this.vkeys.delete(key);
    this.plans.delete(key);
    for (const name of Object.keys(ARTIFACTS)) this.hashes.delete(`${key}/${name}`);
    if (!this.builder.progressOf(key)) this.artifacts.remove(key);
  }

  /**
   * Parses an input document against the model's shapes and runs the quantized model on it with
   * range checks, so an input that would overflow the circuit is a 400 now, not a failed job later.
   */
  checkInput(m: ReadyModel, doc: unknown): ProofInput {
    const values = parseInputs(doc, m.info.inputs);
    const plan = this.plans.get(m.record.key, () => planFromJson(readFileSync(modelFiles(m.dir).plan, 'utf8')));
    quantizeForPlan(plan, values);
    const salt = (doc as { salt?: unknown }).salt;
    if (salt === undefined) return { values };
    if (!needsSalt(m.info.visibility)) throw new ZkError('INPUT_INVALID', `"salt": model ${m.info.name} hashes neither its input nor its output`);
    return { values, salt: String(parseFieldElement(salt, '"salt"')) };
  }

  /**
   * A downloadable artifact of a ready model: its file, media type and sha256 (hex, the ETag).
   * NOT_FOUND for a name not in ARTIFACTS, FORBIDDEN for a proving artifact of a model whose owner
   * did not opt in to client proving.
   */
  async artifact(m: ReadyModel, name: string): Promise<{ file: string; type: string; sha256: string }> {
    if (!Object.hasOwn(ARTIFACTS, name)) throw new ZkError('NOT_FOUND', `no artifact "${name}"; one of ${Object.keys(ARTIFACTS).join(', ')}`, { name });
    const spec = ARTIFACTS[name as ArtifactName];
    if (spec.proving && !m.record.clientProving) {
      throw new ZkError('FORBIDDEN', `model ${m.record.id} is not available for client-side proving: its owner did not upload it with clientProving=true (${name} reveals its weights)`, { id: m.record.id, name });
    }
    const file = modelFiles(m.dir)[spec.file];
    if (!existsSync(file)) throw new ZkError('ARTIFACT_MISSING', `model ${m.record.id} has no ${name}`, { id: m.record.id, name });
    const id = `${m.record.key}/${name}`;
    let sha256 = this.hashes.get(id);
    if (!sha256) this.hashes.set(id, (sha256 = sha256File(file)));
    return { file, type: spec.type, sha256: await sha256 };
  }

  verificationKey(m: ReadyModel): Promise<Groth16VerificationKey> {
    let vkey = this.vkeys.get(m.record.key);
    if (!vkey) this.vkeys.set(m.record.key, (vkey = loadVerificationKey(m.dir)));
    return vkey;
  }

  /**
   * A zkinfer proof bundle, or a bare snarkjs proof with its public signals: that one is checked as
   * the bundle it stands for, so both forms get the same checks.
   */
  async verify(m: ReadyModel, proof: unknown, publicSignals: unknown): Promise<Verdict> {
    const vkey = await this.verificationKey(m);
    if (typeof proof === 'object' && proof !== null && 'format' in proof) return verifyBundle(m.info, vkey, parseProofBundle(proof));
    const bare = z.object({ proof: snarkProofSchema, publicSignals: z.array(z.string().regex(/^\d{1,80}$/, 'a decimal field element')) }).safeParse({ proof, publicSignals });
    if (!bare.success) {
      const issue = bare.error.issues[0];
      throw new ZkError('INPUT_INVALID', `not a proof with public signals: ${issue.path.join('.')}: ${issue.message}`, { issues: bare.error.issues.slice(0, 5) });
    }
    const { proof: parsed, publicSignals: signals } = bare.data;
    return verifyBundle(m.info, vkey, bundleFromSignals(m.info, parsed.protocol, parsed as SnarkProof, signals));
  }

  /**
   * Records a client-made proof bundle as a done job (node "client") once it verifies against the
   * model: PROOF_INVALID (400) with the verifier's reason otherwise. Only the shareable bundle is
   * kept: parsing drops anything else sent with it (an opening with private values included).
   */
  async receiveBundle(m: ReadyModel, doc: unknown, client: string): Promise<JobRecord> {
    const bundle = parseProofBundle(doc);
    const v = await verifyBundle(m.info, await this.verificationKey(m), bundle);
    if (!v.valid) throw new ZkError('PROOF_INVALID', `the bundle does not verify against model ${m.record.id}: ${v.reason}`, { reason: v.reason });
    const { witnessMs = 0, proveMs = 0 } = bundle.timings ?? {};
    return this.jobs.insertDone({ id: randomUUID(), modelId: m.record.id, createdAt: Date.now(), client, node: 'client', result: bundle, timings: { queuedMs: 0, witnessMs, proveMs, runMs: witnessMs + proveMs } });
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

/** A file's sha256 in hex, streamed (a zkey can be tens of MB). */
async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
