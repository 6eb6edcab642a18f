/**
 * Phase-2 ceremonies as the service runs them (README "Trust"): the transcript and what
 * contributors and auditors download, contributions checked before they are accepted (one at a time
 * per model), and finalizing with the owner's token. The cryptography is src/model/ceremony.ts's.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ZkError } from '../core/errors.js';
import { addContribution, finalizeCeremony, locatePtau, readTranscript, type Transcript } from '../model/ceremony.js';
import { modelFiles } from '../model/layout.js';
import type { ModelService, ReadyModel } from './models.js';

const digest = (token: string): Buffer => createHash('sha256').update(token).digest();

/** A new owner token and the digest the model's settings keep (the token itself is shown once). */
export function newOwnerToken(): { token: string; digest: string } {
  const token = randomBytes(32).toString('hex');
  return { token, digest: digest(token).toString('hex') };
}

export type CeremonyFile = 'zkey' | 'r1cs' | 'ptau';

export class CeremonyService {
  /** The contribution or finalize running per artifact key: each must see the one before it. */
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(
    private readonly models: ModelService,
    private readonly ptau: { ptau?: string; dataDir: string },
  ) {}

  /** The transcript (null without a ceremony) and the identity of the ptau the keys rest on. */
  status(m: ReadyModel): { transcript: Transcript | null; ptau: { file: string; power: number; development: boolean } } {
    const setup = m.info.setup!;
    return {
      transcript: readTranscript(m.dir) ?? null,
      ptau: { file: setup.ptauFile ?? `power-${setup.ptauPower}.ptau`, power: setup.ptauPower, development: setup.developmentPtau },
    };
  }

  /**
   * A file contributors and auditors need. The zkey and r1cs hold weights fixed in the circuit, so
   * they are served only when the circuit is public anyway: a ceremony (which publishes it to its
   * contributors), a model opened for client-side proving, or weights that are not constants.
   */
  file(m: ReadyModel, which: CeremonyFile): string {
    if (which === 'ptau') return locatePtau(m.dir, { ...this.ptau, ptau: m.record.settings.ptau ?? this.ptau.ptau });
    const circuitPublic = Boolean(m.record.settings.ceremonyOwner) || m.record.clientProving || m.info.visibility.weights !== 'fixed';
    if (!circuitPublic)
      throw new ZkError('FORBIDDEN', `model ${m.record.id} keeps its circuit private (weights fixed in it, no ceremony, no clientProving)`, {
        id: m.record.id,
      });
    return modelFiles(m.dir)[which];
  }

  /** Checks and accepts a contribution (a zkey's bytes); INPUT_INVALID with the reason otherwise. */
  contribute(m: ReadyModel, zkey: Buffer): Promise<Transcript> {
    const ceremony = requireCeremony(m);
    return this.serially(m.record.key, async () => {
      // A directory of its own, so the file is named as the uploader knows it in any refusal ("contribution.zkey").
      const dir = join(modelFiles(m.dir).ceremonyDir, `incoming-${randomUUID()}`);
      const file = join(dir, 'contribution.zkey');
      mkdirSync(dir, { mode: 0o700 });
      writeFileSync(file, zkey);
      try {
        return await addContribution(m.dir, file, { ...this.ptau, ptau: ceremony.ptau ?? this.ptau.ptau });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  /** Closes the ceremony with the beacon; only the holder of the owner's token may (FORBIDDEN otherwise). */
  finalize(m: ReadyModel, token: string, beacon: string, iterationsExp: number): Promise<Transcript> {
    const { ceremonyOwner } = requireCeremony(m);
    if (!timingSafeEqual(digest(token), Buffer.from(ceremonyOwner, 'hex')))
      throw new ZkError('FORBIDDEN', 'only the model owner (their ceremony token) can finalize the ceremony');
    return this.serially(m.record.key, () => finalizeCeremony(m.dir, beacon, iterationsExp));
  }

  private serially<T>(key: string, work: () => Promise<T>): Promise<T> {
    const run = (this.running.get(key) ?? Promise.resolve()).catch(() => {}).then(work);
    const settled = run.finally(() => {
      this.models.refresh(key);
      if (this.running.get(key) === settled) this.running.delete(key);
    });
    this.running.set(key, settled);
    return settled;
  }
}

function requireCeremony(m: ReadyModel): { ceremonyOwner: string; ptau?: string } {
  const { ceremonyOwner, ptau } = m.record.settings;
  if (!ceremonyOwner) throw new ZkError('CONFLICT', `model ${m.record.id} has no ceremony: upload it with ceremony=open`, { id: m.record.id });
  return { ceremonyOwner, ptau };
}
