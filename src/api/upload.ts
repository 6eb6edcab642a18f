/**
 * Receiving a model upload: the raw ONNX bytes (application/octet-stream, options in the query
 * string) or multipart/form-data with a `model` file part and `name`, `scale`, `headroom`, `visibility`
 * (`input=hashed,weights=hashed,…`), `system` (groth16, plonk or fflonk, as the CLI's setup), `clientProving` (`true`: publish the proving artifacts, see
 * README: Prove on your own machine), `ceremony` (`open`: a Groth16 phase-2 ceremony, see README: Trust)
 * and `calibration` (JSON text, as a field or a file part).
 * A model with ONNX external data comes as multipart with its data files as `data` file parts
 * (matched to each tensor's `location` by file name; a single one serves every location).
 */
import express, { type Request, type RequestHandler } from 'express';
import multer from 'multer';
import { z } from 'zod';
import { ZkError } from '../core/errors.js';
import { parseVisibility } from '../commit/visibility.js';
import { PROOF_SYSTEMS } from '../core/snarkjs.js';
import { type GraphSettings, parseDims, parseSetting } from '../model/prepare.js';
import { MODEL_NAME, type Upload } from '../service/models.js';
import { parseWith } from './validate.js';

const options = z.strictObject({
  name: z.string().regex(MODEL_NAME, 'letters, digits, _ . - (at most 64)').optional(),
  scale: z.coerce.number().int().min(1).max(32).optional(),
  headroom: z.coerce.number().int().min(0).max(32).optional(),
  calibration: z.string().optional(),
  visibility: z.string().max(100).optional(),
  clientProving: z.enum(['true', 'false']).optional(),
  ceremony: z.enum(['open', 'none']).optional(),
  system: z.enum(PROOF_SYSTEMS).optional(),
  dim: z.string().max(1000).optional(),
  fix: z.string().max(100_000).optional(),
  accept_error: z.enum(['true', 'false']).optional(),
});

type Files = Partial<Record<'model' | 'calibration' | 'data', Express.Multer.File[]>>;

/** External data files one upload may carry. */
const DATA_PARTS = 4;

/** Reads the body as one of the two forms, each bounded by the model size limit. */
export function receiveModel(limits: { modelBytes: number; fieldBytes: number }): RequestHandler {
  const raw = express.raw({ type: () => true, limit: limits.modelBytes });
  const form = multer({ storage: multer.memoryStorage(), limits: { fileSize: limits.modelBytes, fieldSize: limits.fieldBytes, files: 2 + DATA_PARTS, fields: 16 } }).fields([
    { name: 'model', maxCount: 1 },
    { name: 'calibration', maxCount: 1 },
    { name: 'data', maxCount: DATA_PARTS },
  ]);
  return (req, res, next) => {
    if (req.is('multipart/form-data')) return form(req, res, next);
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
  const o = parseWith(options, multipart ? req.body : req.query, 'upload option');
  const calibration = files.calibration?.[0]?.buffer.toString('utf8') ?? o.calibration;
  const data = files.data ?? [];
  return {
    onnx,
    ...(data.length ? { externalData: new Map(data.map((f) => [f.originalname, f.buffer])) } : {}),
    name: o.name,
    scale: o.scale,
    headroomBits: o.headroom,
    calibration: calibration === undefined ? undefined : parseJson(calibration),
    visibility: o.visibility === undefined ? undefined : parseVisibility(o.visibility),
    clientProving: o.clientProving === 'true',
    ceremony: o.ceremony === 'open',
    system: o.system,
    graph: graphSettings(o.dim, o.fix),
    acceptError: o.accept_error === 'true',
  };
}

/**
 * `dim=sequence=4,batch=1` and `fix={"axes":[1]}` (JSON: input name → number or array), as the
 * CLI's --dim and --fix.
 */
function graphSettings(dim: string | undefined, fix: string | undefined): GraphSettings {
  const dims = parseDims((dim ? dim.split(',') : []).map((d) => d.trim()), 'dim');
  const fixed = fix === undefined ? {} : parseJson(fix, 'fix');
  if (typeof fixed !== 'object' || fixed === null || Array.isArray(fixed)) throw new ZkError('INPUT_INVALID', 'fix must be a JSON object: input name → number or array');
  return { dims, fix: Object.fromEntries(Object.entries(fixed).map(([name, v]) => parseSetting(`${name}=${JSON.stringify(v)}`, 'fix'))) };
}

function parseJson(text: string, what = 'calibration'): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ZkError('INPUT_INVALID', `${what} is not valid JSON: ${(e as Error).message}`);
  }
}
