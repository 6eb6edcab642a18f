import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ZkError } from '../core/errors.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * `Authorization: Bearer <key>` against the configured keys; with no keys configured, everyone
 * passes. Keys are compared as digests in constant time, so timing reveals nothing about them.
 */
export function requireApiKey(keys: readonly string[]): RequestHandler {
  const allowed = keys.map(digest);
  return (req, _res, next) => {
    if (allowed.length === 0) return next();
    const token = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
    if (token === undefined) throw new ZkError('UNAUTHORIZED', 'this request needs an API key: Authorization: Bearer <key>');
    const presented = digest(token);
    if (!allowed.some((k) => timingSafeEqual(k, presented))) throw new ZkError('UNAUTHORIZED', 'the API key is not valid');
    next();
  };
}
