import type { z } from 'zod';
import { ZkError } from '../core/errors.js';

/** zod-parses a part of a request; a failure is INPUT_INVALID naming the first bad field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const at = issue.path.length ? ` ${issue.path.join('.')}` : '';
  throw new ZkError('INPUT_INVALID', `${what}${at}: ${issue.message}`, { issues: parsed.error.issues.slice(0, 5) });
}
