import type { z } from 'zod';
import { parseOrThrow } from '../core/errors.js';

/** zod-parses a part of a request; a failure is INPUT_INVALID naming the first bad field (see fromZodError). */
export const parseWith = <S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> => parseOrThrow<z.output<S>>(schema, value, what);
