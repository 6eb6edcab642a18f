import express, { type Express, type Request } from 'express';
import { z } from 'zod';
import { ZkError } from '../core/errors.js';
import { isFinished } from '../jobs/proofs.js';
import type { ApiDeps } from './app.js';
import { clientOf } from './auth.js';
import { parseWith } from './validate.js';
import { jobView } from './views.js';

/** Longest `?wait=` in seconds: a request should not hold a connection for a whole proof of a big model. */
export const MAX_WAIT_SECONDS = 60;

const waitQuery = z.strictObject({ wait: z.coerce.number().min(0).max(MAX_WAIT_SECONDS).optional() });
const verifyBody = z.object({
  model: z.string().min(1),
  proof: z.custom<object>((v) => typeof v === 'object' && v !== null, 'a proof bundle or a snarkjs proof object'),
  publicSignals: z.unknown().optional(),
});

export function proofRoutes(app: Express, d: ApiDeps): void {
  const json = express.json({ limit: d.config.bodyLimitBytes });
  const clientOfRequest = clientOf(d.config.apiKeys);
  const owned = d.config.apiKeys.length > 0;
  /**
   * The job, when `req` may see it. With API keys configured a job belongs to the client that
   * created it (its key, or for a keyless request its address): to anyone else it does not exist,
   * so a job id seen in a log or a URL reveals nothing and cancels nothing.
   */
  const jobOr404 = (req: Request, id: string) => {
    const job = d.jobs.get(id);
    if (!job || (owned && job.client !== clientOfRequest(req))) throw new ZkError('NOT_FOUND', `no proof job ${id}`, { id });
    return job;
  };

  /**
   * The input is checked here (shape, numbers, circuit ranges), so a queued job has a valid input.
   * `{"bundle": …}` instead: a proof the client made itself (the client library's proveLocally); it
   * is verified and recorded as a done job of node "client", and the service never sees the input.
   */
  app.post('/v1/models/:id/proofs', json, async (req, res) => {
    const { wait } = parseWith(waitQuery, req.query, 'query');
    const model = d.models.ready(req.params.id);
    if (typeof req.body === 'object' && req.body !== null && 'bundle' in req.body) {
      const { job, created } = await d.models.receiveBundle(model, (req.body as { bundle: unknown }).bundle, clientOfRequest(req));
      // 200 with the job already recorded for this statement (a bundle sent again adds nothing).
      return void res
        .status(created ? 201 : 200)
        .location(`/v1/proofs/${job.id}`)
        .json(jobView(job));
    }
    let job = await d.queue.submit(model.record.id, await d.models.checkInput(model, req.body), clientOfRequest(req));
    if (wait) {
      await d.queue.waitFor(job.id, wait * 1000);
      job = jobOr404(req, job.id);
    }
    res
      .status(isFinished(job) ? 200 : 202)
      .location(`/v1/proofs/${job.id}`)
      .json(jobView(job));
  });

  app.get('/v1/proofs/:id', (req, res) => {
    res.json(jobView(jobOr404(req, req.params.id)));
  });

  app.delete('/v1/proofs/:id', async (req, res) => {
    jobOr404(req, req.params.id);
    await d.queue.cancel(req.params.id);
    res.json(jobView(jobOr404(req, req.params.id)));
  });

  app.post('/v1/verify', json, async (req, res) => {
    const body = parseWith(verifyBody, req.body, 'body');
    res.json(await d.models.verify(d.models.ready(body.model), body.proof, body.publicSignals));
  });
}
