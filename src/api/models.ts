import type { Express, Request } from 'express';
import { ZkError } from '../core/errors.js';
import { z } from 'zod';
import type { ModelRecord } from '../store/models.js';
import type { ApiDeps } from './app.js';
import { clientOf, requireApiKey } from './auth.js';
import { receiveModel, uploadOf } from './upload.js';
import { parseWith } from './validate.js';
import { modelView } from './views.js';
import { newOwnerToken } from '../service/ceremony.js';

const listQuery = z.strictObject({ name: z.string().max(64).optional() });

export function modelRoutes(app: Express, d: ApiDeps): void {
  const auth = requireApiKey(d.config.apiKeys);
  // With API keys, a model belongs to the client that uploaded it (as a job does); without, everyone is one client.
  const clientOfRequest = clientOf(d.config.apiKeys);
  const ownerOf = (req: Request): string | undefined => (d.config.apiKeys.length > 0 ? clientOfRequest(req) : undefined);
  const view = (m: ModelRecord) => {
    const { record, info } = d.models.inspect(m);
    return modelView(record, info, d.builder.progressOf(m.key));
  };

  /** 202: the build runs in the background; GET the model for its progress. */
  app.post('/v1/models', auth, receiveModel({ modelBytes: d.config.modelSizeLimitBytes, fieldBytes: d.config.bodyLimitBytes }), async (req, res) => {
    const { ceremony, ...upload } = uploadOf(req);
    // The owner's token is shown once, here; the service keeps only its digest.
    const owner = ceremony ? newOwnerToken() : undefined;
    const model = await d.models.upload({ ...upload, ...(owner ? { ceremonyOwner: owner.digest } : {}), owner: ownerOf(req) });
    res
      .status(202)
      .location(`/v1/models/${model.id}`)
      .json({ ...view(model), ...(owner ? { ceremonyOwnerToken: owner.token } : {}) });
  });

  /** `?name=`: only the versions of that name, oldest first. */
  app.get('/v1/models', (req, res) => {
    const { name } = parseWith(listQuery, req.query, 'query');
    res.json({ models: d.models.list(name).map(view) });
  });

  app.get('/v1/models/:id', (req, res) => {
    res.json(view(d.models.get(req.params.id)));
  });

  /** Its unfinished proof jobs are cancelled; its finished proofs stay readable. */
  app.delete('/v1/models/:id', auth, async (req, res) => {
    // `auth` ahead of the handler widens the params' type; the route has exactly one :id.
    const { id, owner } = d.models.get(String(req.params.id));
    // The operator's models (no owner) stay deletable by any key holder, as before owners were kept.
    if (owner && owner !== ownerOf(req)) throw new ZkError('FORBIDDEN', `model ${id} belongs to the client that uploaded it`, { id });
    await d.queue.cancelModel(id);
    d.models.remove(id);
    res.status(204).end();
  });

  app.get('/v1/models/:id/verification_key', async (req, res) => {
    res.json(await d.models.verificationKey(d.models.ready(req.params.id)));
  });

  /**
   * What proving or verifying on the client needs (ARTIFACTS). A model's artifacts never change,
   * so they are cached for good and revalidated by their sha256 (the ETag).
   */
  app.get('/v1/models/:id/artifacts/:name', async (req, res) => {
    const { file, type, sha256 } = await d.models.artifact(d.models.ready(req.params.id), req.params.name);
    res.set({ ETag: `"${sha256}"`, 'Cache-Control': 'public, max-age=31536000, immutable' });
    res.sendFile(file, { headers: { 'Content-Type': type }, etag: false, lastModified: false, dotfiles: 'allow' });
  });

  app.get('/v1/models/:id/verifier.sol', async (req, res) => {
    const source = await d.models.solidityVerifier(d.models.ready(req.params.id));
    res.type('text/plain').send(source);
  });
}
