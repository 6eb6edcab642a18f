/**
 * Receiving a model upload: the raw ONNX bytes (application/octet-stream, options in the query
 * string) or multipart/form-data with a `model` file part and `name`, `scale`, `headroom`, `visibility`
 * (`input=hashed,weights=hashed,…`), `clientProving` (`true`: publish the proving artifacts, see
 * README: Prove on your own machine) and `calibration` (JSON text, as a field or a file part).
 */
import express, { type Request, type RequestHandler } from 'express';
import multer from 'multer';
import { z } from 'zod';
import { ZkError } from '../core/errors.js';
import { parseVisibility } from '../commit/visibility.js';
import { MODEL_NAME, type Upload } from '../service/models.js';
import { parseWith } from './validate.js';

const options = z.strictObject({
  name: z.string().regex(MODEL_NAME, 'letters, digits, _ . - (at most 64)').optional(),
  scale: z.coerce.number().int().min(1).max(32).optional(),
  headroom: z.coerce.number().int().min(0).max(32).optional(),
  calibration: z.string().optional(),
  visibility: z.string().max(100).optional(),
  clientProving: z.enum(['true', 'false']).optional(),
});

type Files = Partial<Record<'model' | 'calibration', Express.Multer.File[]>>;

/** Reads the body as one of the two forms, each bounded by the model size limit. */
export function receiveModel(limits: { modelBytes: number; fieldBytes: number }): RequestHandler {
  const raw = express.raw({ type: () => true, limit: limits.modelBytes });
  const form = multer({ storage: multer.memoryStorage(), limits: { fileSize: limits.modelBytes, fieldSize: limits.fieldBytes, files: 2, fields: 9 } }).fields([
    { name: 'model', maxCount: 1 },
    { name: 'calibration', maxCount: 1 },
  ]);
  return (req, res, next) => {
    if (req.is('multipart/form-data')) return form(req, res, next);
    if (req.is('application/octet-stream')) return raw(req, res, next);
    next(new ZkError('INPUT_INVALID', 'send the model as application/octet-stream, or as multipart/form-data with a "model" file part'));
  };
}

export function uploadOf(req: Request): Upload {
  const files = (req.files ?? {}) as Files;
  const multipart = req.is('multipart/form-data');
  const onnx = multipart ? files.model?.[0]?.buffer : (req.body as Buffer);
  if (!onnx) throw new ZkError('INPUT_INVALID', 'the multipart upload has no "model" file part');
  const o = parseWith(options, multipart ? req.body : req.query, 'upload option');
  const calibration = files.calibration?.[0]?.buffer.toString('utf8') ?? o.calibration;
  return {
    onnx,
    name: o.name,
    scale: o.scale,
    headroomBits: o.headroom,
    calibration: calibration === undefined ? undefined : parseJson(calibration),
    visibility: o.visibility === undefined ? undefined : parseVisibility(o.visibility),
    clientProving: o.clientProving === 'true',
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ZkError('INPUT_INVALID', `calibration is not valid JSON: ${(e as Error).message}`);
  }
}
