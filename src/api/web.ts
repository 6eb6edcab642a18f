/**
 * The browser side: the web app at `/`, the client library as one ES module at `/client.js`, and
 * the OpenAPI document rendered at `/docs/`, all from dist/web (built by scripts/build-web.ts at
 * `npm run build`). Static middleware, not routes: the API's route list stays what openapi.ts documents.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Express } from 'express';
import { ZkError } from '../core/errors.js';

/** The repository root (this file runs from dist/src/api/). */
export const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');
export const WEB_DIR = join(REPO_ROOT, 'dist', 'web');

export function webRoutes(app: Express): void {
  // Bundles change with every build; revalidated each time (the model artifacts are the big downloads).
  app.use(express.static(WEB_DIR, { cacheControl: true, maxAge: 0 }));
  app.use((req, _res, next) => {
    if (req.method === 'GET' && (req.path === '/' || req.path.startsWith('/docs') || req.path === '/client.js') && !existsSync(join(WEB_DIR, 'index.html'))) {
      throw new ZkError('NOT_FOUND', 'the web app is not built: run npm run build');
    }
    next();
  });
}
