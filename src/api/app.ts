/**
 * The HTTP edge: an Express app over the model service and the proof queue. Routes are registered
 * on the app with their full paths, so the app's router is the complete list openapi.ts documents.
 */
import { randomUUID } from 'node:crypto';
import compression from 'compression';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { ModelBuilder } from '../jobs/compiles.js';
import type { ProofJobQueue } from '../jobs/ledger.js';
import type { ServiceConfig } from '../service/config.js';
import type { Metrics } from '../service/metrics.js';
import type { ModelService } from '../service/models.js';
import type { JobStore } from '../store/jobs.js';
import { ceremonyRoutes } from './ceremony.js';
import { errorHandler, notFound } from './errors.js';
import { modelRoutes } from './models.js';
import { proofRoutes } from './proofs.js';
import { systemRoutes } from './system.js';
import { webRoutes } from './web.js';

export interface ApiDeps {
  config: ServiceConfig;
  models: ModelService;
  builder: ModelBuilder;
  queue: ProofJobQueue;
  jobs: JobStore;
  metrics: Metrics;
  logger: Logger;
  /** False while starting up or draining. */
  isReady(): boolean;
}

/**
 * helmet's headers (nosniff, frame-ancestors, referrer policy, …) with a content security policy the
 * web app lives within: scripts only from the service, plus what snarkjs needs in the page —
 * WebAssembly compilation ('wasm-unsafe-eval') and its curve's workers, which ffjavascript starts
 * from blob: URLs. No upgrade-insecure-requests: the service is often plain HTTP on localhost.
 */
const SECURITY_HEADERS = {
  contentSecurityPolicy: {
    useDefaults: true,
    directives: {
      'script-src': ["'self'", "'wasm-unsafe-eval'"],
      'worker-src': ["'self'", 'blob:'],
      'upgrade-insecure-requests': null,
    },
  },
};

/** A client's X-Request-Id is kept when it looks like one; otherwise the request gets a UUID. */
const REQUEST_ID = /^[\w.:-]{1,128}$/;

export function createApp(deps: ApiDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(helmet(SECURITY_HEADERS));
  // The web app's bundles are megabytes of JavaScript; JSON views compress well too.
  app.use(compression());
  app.use(
    pinoHttp({
      logger: deps.logger,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      // A successful GET reads: mostly status polls of models and jobs, one a second per client.
      customLogLevel: (req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : req.method === 'GET' ? 'debug' : 'info'),
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/metrics' },
    }),
  );
  systemRoutes(app, deps);
  ceremonyRoutes(app, deps);
  modelRoutes(app, deps);
  proofRoutes(app, deps);
  webRoutes(app);
  app.use(notFound);
  app.use(errorHandler);
  return app;
}
