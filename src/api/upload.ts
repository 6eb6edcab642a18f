/**
 * Receiving a model upload: the raw ONNX bytes (application/octet-stream, options in the query
 * string) or multipart/form-data with a `model` file part and the settings as fields (src/core/settings.ts:
 * name, scale, headroom, visibility, system, dim, fix, accept_error, clientProving, ceremony,
 * calibration; calibration may also be a file part).
 * A model with ONNX external data comes as multipart with its data files as `data` file parts
 * (matched to each tensor's `location` by file name; a single one serves every location).
 */
import express, { type Request, type RequestHandler } from 'express';
import multer from 'multer';
import { ZkError } from '../core/errors.js';
import { compileOptionsOf, settingsSchema } from '../core/settings.js';
import type { Upload } from '../service/models.js';
import { parseWith } from './validate.js';

type Files = Partial<Record<'model' | 'calibration' | 'data', Express.Multer.File[]>>;

/** External data files one upload may carry. */
const DATA_PARTS = 4;

/** Reads the body as one of the two forms, each bounded by the model size limit. */
export function receiveModel(limits: { modelBytes: number; fieldBytes: number }): RequestHandler {
  const raw = express.raw({ type: () => true, limit: limits.modelBytes });
  const form = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: limits.modelBytes, fieldSize: limits.fieldBytes, files: 2 + DATA_PARTS, fields: 16 },
  }).fields([
    { name: 'model', maxCount: 1 },
    { name: 'calibration', maxCount: 1 },
    { name: 'data', maxCount: DATA_PARTS },
  ]);
  return (req, res, next) => {
    // busboy's parse errors ("Boundary not found", "Unexpected end of form") reach us as plain Errors: the client's body, a 400.
    if (req.is('multipart/form-data'))
      return form(req, res, (err?: unknown) =>
        next(
          err instanceof Error && !(err instanceof multer.MulterError)
            ? new ZkError('INPUT_INVALID', `the multipart body is malformed: ${err.message}`, undefined, { cause: err })
            : err,
        ),
      );
    if (req.is('application/octet-stream')) return raw(req, res, next);
    next(new ZkError('INPUT_INVALID', 'send the model as application/octet-stream, or as multipart/form-data with a "model" file part'));
  };
}

/** The upload, and whether the owner asked for an open phase-2 ceremony (the route then makes their token). */
export function uploadOf(req: Request): Upload & { ceremony: boolean } {
  const files = (req.files ?? {}) as Files;
  const multipart = req.is('multipart/form-data');
  const onnx = multipart ? files.model?.[0]?.buffer : (req.body as Buffer);
  if (!onnx) throw new ZkError('INPUT_INVALID', 'the multipart upload has no "model" file part');
  const given = (multipart ? req.body : req.query) as Record<string, unknown>;
  // A repeated option arrives as an array, which zod then reported as "expected number, received NaN".
  const twice = Object.keys(given).filter((k) => Array.isArray(given[k]));
  if (twice.length) throw new ZkError('INPUT_INVALID', `upload option ${twice.join(', ')} is given more than once: give each option once`, { options: twice });
  const o = parseWith(settingsSchema, given, 'upload option');
  const calibration = files.calibration?.[0]?.buffer.toString('utf8') ?? o.calibration;
  const data = files.data ?? [];
  return {
    onnx,
    ...(data.length ? { externalData: new Map(data.map((f) => [f.originalname, f.buffer])) } : {}),
    name: o.name,
    ...compileOptionsOf(o),
    calibration: calibration === undefined ? undefined : parseJson(calibration),
    clientProving: o.clientProving ?? false,
    ceremony: o.ceremony === 'open',
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ZkError('INPUT_INVALID', `calibration is not valid JSON: ${(e as Error).message}`, undefined, { cause: e });
  }
}
