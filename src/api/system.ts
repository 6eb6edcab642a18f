import type { Express } from 'express';
import { ZkError } from '../core/errors.js';
import type { ApiDeps } from './app.js';
import { openapi } from './openapi.js';

export function systemRoutes(app: Express, d: ApiDeps): void {
  /** Liveness: the process answers. */
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  /** Readiness: started and not draining, so it takes proof jobs. */
  app.get('/readyz', (_req, res) => {
    if (!d.isReady()) throw new ZkError('UNAVAILABLE', 'the service is starting or shutting down');
    res.json({ status: 'ready', queued: d.queue.depth });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(d.metrics.registry.contentType).send(await d.metrics.registry.metrics());
  });

  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
}
