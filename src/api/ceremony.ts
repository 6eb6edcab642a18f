/**
 * Phase-2 ceremony routes (README "Trust"): the transcript and the files contributors and auditors
 * download, contributions (a zkey as application/octet-stream, checked before it is accepted) and
 * finalizing with the owner's token. Until finalized, the model's key may still be forgeable, so
 * proofs (ModelService.checkInput) and its immutable artifacts (ModelService.artifact) are refused with 409.
 */
import express, { type Express } from 'express';
import { z } from 'zod';
import { ZkError } from '../core/errors.js';
import { type CeremonyFile, CeremonyService } from '../service/ceremony.js';
import type { ApiDeps } from './app.js';
import { requireApiKey } from './auth.js';
import { parseWith } from './validate.js';

const finalizeBody = z.strictObject({
  ownerToken: z.string().min(1).max(200),
  beacon: z.string().regex(/^([0-9a-fA-F]{2}){1,255}$/, '1 to 255 bytes of hex'),
  iterations: z.number().int().min(10).max(63).default(10),
});

const FILES: Record<string, CeremonyFile> = { zkey: 'zkey', r1cs: 'r1cs', ptau: 'ptau' };

export function ceremonyRoutes(app: Express, d: ApiDeps): void {
  const auth = requireApiKey(d.config.apiKeys);
  const ceremonies = new CeremonyService(d.models, { ptau: d.config.ptau, dataDir: d.config.dataDir });

  app.get('/v1/models/:id/ceremony', (req, res) => {
    res.json(ceremonies.status(d.models.ready(req.params.id)));
  });

  /** The current zkey (what the next contributor builds on), the r1cs, the ptau. */
  app.get('/v1/models/:id/ceremony/:file', (req, res, next) => {
    const which = FILES[req.params.file];
    if (!which) return next();
    res.set('Cache-Control', 'no-cache');
    res.sendFile(ceremonies.file(d.models.ready(req.params.id), which), { headers: { 'Content-Type': 'application/octet-stream' }, dotfiles: 'allow' });
  });

  app.post('/v1/models/:id/ceremony/contributions', auth, express.raw({ type: () => true, limit: d.config.modelSizeLimitBytes }), async (req, res) => {
    if (!Buffer.isBuffer(req.body) || req.body.length === 0)
      throw new ZkError('INPUT_INVALID', 'send the contribution zkey as the request body (application/octet-stream)');
    const transcript = await ceremonies.contribute(d.models.ready(String(req.params.id)), req.body);
    res.status(201).json({ transcript });
  });

  app.post('/v1/models/:id/ceremony/finalize', auth, express.json({ limit: d.config.bodyLimitBytes }), async (req, res) => {
    const body = parseWith(finalizeBody, req.body, 'finalize');
    const transcript = await ceremonies.finalize(d.models.ready(String(req.params.id)), body.ownerToken, body.beacon, body.iterations);
    res.json({ transcript });
  });
}
