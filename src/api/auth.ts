import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { ZkError } from '../core/errors.js';
import { KEYED_CLIENT } from '../jobs/ledger.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

const bearer = (req: Request): string | undefined => /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];

/**
 * `Authorization: Bearer <key>` against the configured keys; with no keys configured, everyone
 * passes. Keys are compared as digests in constant time, so timing reveals nothing about them.
 */
export function requireApiKey(keys: readonly string[]): RequestHandler {
  const allowed = keys.map(digest);
  return (req, _res, next) => {
    if (allowed.length === 0) return next();
    const token = bearer(req);
    if (token === undefined) throw new ZkError('UNAUTHORIZED', 'this request needs an API key: Authorization: Bearer <key>');
    const presented = digest(token);
    if (!allowed.some((k) => timingSafeEqual(k, presented))) throw new ZkError('UNAUTHORIZED', 'the API key is not valid');
    next();
  };
}

/**
 * Who a proof request is from, for per-client fairness: a configured API key it presents (as a
 * digest prefix, never the key), else its address. An unknown token does not count as an identity,
 * or a client could pose as a new one on every request and jump the queue.
 */
export function clientOf(keys: readonly string[]): (req: Request) => string {
  const allowed = keys.map(digest);
  return (req) => {
    const token = bearer(req);
    const presented = token === undefined ? undefined : digest(token);
    const key = presented && allowed.find((k) => timingSafeEqual(k, presented));
    return key ? `${KEYED_CLIENT}${key.toString('hex').slice(0, 16)}` : `ip:${req.ip ?? req.socket.remoteAddress ?? 'unknown'}`;
  };
}
