import type { GraphSettings } from '../model/prepare.js';
import type { ModelVisibility } from '../commit/visibility.js';
import { type ErrorBody, ZkError } from '../core/errors.js';
import type { ProofSystem } from '../core/snarkjs.js';
import type { Database } from './db.js';

export type ModelStatus = 'compiling' | 'ready' | 'failed';

/** Everything the compile + setup of a model depends on besides the ONNX bytes and the name. */
export interface CompileSettings {
  /** Absent: calibration picks it (AUTO_SCALES), as the CLI does; model.json records the one chosen. */
  scale?: number;
  headroomBits: number;
  /** Calibration samples (one flat array per graph input each); random ones when absent. */
  samples?: number[][][];
  /** Ceremony ptau file; absent = development ptau. */
  ptau?: string;
  /** Absent: the default (public input and output, fixed weights). */
  visibility?: ModelVisibility;
  /**
   * With an open phase-2 ceremony (upload option ceremony=open): sha256 (hex) of the owner's token,
   * which finalizing needs. Being in the settings, it also gives each ceremony its own artifacts.
   */
  ceremonyOwner?: string;
  /** Absent: groth16 (so the artifact keys of models uploaded before the option stay the same). */
  system?: ProofSystem;
  /** Symbolic dim sizes and parameter inputs fixed as constants (`--dim`, `--fix`). */
  graph?: GraphSettings;
  /** Compile even when the error exceeds the stated tolerance; proofs then say so. */
  acceptError?: boolean;
}

export interface ModelRecord {
  id: string;
  name: string;
  /** 1 for the first upload under its name, then one more per upload under the same name. */
  version: number;
  /** The content-addressed artifact directory it shares with identical uploads. */
  key: string;
  onnxSha256: string;
  settings: CompileSettings;
  status: ModelStatus;
  error?: ErrorBody;
  /**
   * The owner lets clients download the proving artifacts (wasm, zkey, r1cs, plan) to prove on
   * their own machines. With fixed weights those files hold the weights, so it is opt-in.
   */
  clientProving: boolean;
  /**
   * With API keys: the client that uploaded it (src/api/auth.ts clientOf), who alone may delete it
   * or upload further versions of its name. Absent: registered by the operator (or before owners were kept).
   */
  owner?: string;
  createdAt: number;
  updatedAt: number;
}

interface Row {
  id: string;
  name: string;
  version: number;
  artifact_key: string;
  onnx_sha256: string;
  settings: string;
  status: ModelStatus;
  error: string | null;
  client_proving: number;
  owner: string | null;
  created_at: number;
  updated_at: number;
}

const toRecord = (r: Row): ModelRecord => ({
  id: r.id,
  name: r.name,
  version: r.version,
  key: r.artifact_key,
  onnxSha256: r.onnx_sha256,
  settings: JSON.parse(r.settings),
  status: r.status,
  ...(r.error ? { error: JSON.parse(r.error) } : {}),
  clientProving: r.client_proving === 1,
  ...(r.owner ? { owner: r.owner } : {}),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class ModelStore {
  constructor(private readonly db: Database) {}

  /**
   * A name's versions come from one owner, so its latest version is never another client's model.
   * @throws ZkError FORBIDDEN when `owner` is set and a version of `name` belongs to someone else
   *   (another client, or the operator).
   */
  requireNameOf(name: string, owner: string | undefined): void {
    if (owner && this.db.prepare('SELECT 1 FROM models WHERE name = ? AND owner IS NOT ? LIMIT 1').get(name, owner))
      throw new ZkError('FORBIDDEN', `the name ${JSON.stringify(name)} belongs to another client: upload under another name`, { name });
  }

  /** Inserts the model as the next version of its name (in one transaction, checked as requireNameOf); returns that version. */
  insert(m: Omit<ModelRecord, 'version'>): number {
    return this.db.transaction(() => {
      this.requireNameOf(m.name, m.owner);
      const { v } = this.db.prepare('SELECT coalesce(max(version), 0) + 1 AS v FROM models WHERE name = ?').get(m.name) as { v: number };
      this.db
        .prepare(
          'INSERT INTO models (id, name, version, artifact_key, onnx_sha256, settings, status, error, client_proving, owner, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          m.id,
          m.name,
          v,
          m.key,
          m.onnxSha256,
          JSON.stringify(m.settings),
          m.status,
          m.error ? JSON.stringify(m.error) : null,
          m.clientProving ? 1 : 0,
          m.owner ?? null,
          m.createdAt,
          m.updatedAt,
        );
      return v;
    })();
  }

  get(id: string): ModelRecord | undefined {
    const row = this.db.prepare('SELECT * FROM models WHERE id = ?').get(id) as Row | undefined;
    return row && toRecord(row);
  }

  /** All models, or the versions of one name, oldest first. */
  list(name?: string): ModelRecord[] {
    const rows =
      name === undefined
        ? this.db.prepare('SELECT * FROM models ORDER BY created_at, rowid').all()
        : this.db.prepare('SELECT * FROM models WHERE name = ? ORDER BY version').all(name);
    return (rows as Row[]).map(toRecord);
  }

  /** Settles every model still compiling on this artifact key (identical uploads share one compile). */
  settle(key: string, status: 'ready' | 'failed', error?: ErrorBody): void {
    this.db
      .prepare("UPDATE models SET status = ?, error = ?, updated_at = ? WHERE artifact_key = ? AND status = 'compiling'")
      .run(status, error ? JSON.stringify(error) : null, Date.now(), key);
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM models WHERE id = ?').run(id);
  }

  /** How many models use an artifact directory; at zero it can go. */
  usersOf(key: string): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM models WHERE artifact_key = ?').get(key) as { n: number }).n;
  }

  /** Counts a start of the build of `key` for its compiling models; returns how many starts it has had. */
  buildStarted(key: string): number {
    this.db.prepare("UPDATE models SET build_starts = build_starts + 1 WHERE artifact_key = ? AND status = 'compiling'").run(key);
    const row = this.db.prepare("SELECT MAX(build_starts) AS n FROM models WHERE artifact_key = ? AND status = 'compiling'").get(key) as { n: number | null };
    return row.n ?? 0;
  }

  /** Takes back a start that ended cleanly without a result (a graceful stop, a cancel). */
  buildStopped(key: string): void {
    this.db.prepare("UPDATE models SET build_starts = build_starts - 1 WHERE artifact_key = ? AND status = 'compiling' AND build_starts > 0").run(key);
  }

  compiling(): ModelRecord[] {
    return (this.db.prepare("SELECT * FROM models WHERE status = 'compiling' ORDER BY created_at, rowid").all() as Row[]).map(toRecord);
  }
}
