/**
 * ONNX external data (TensorProto `data_location = EXTERNAL`, the weights beside the model that
 * PyTorch's dynamo exporter writes as `network.onnx.data`). No path a model names is ever opened
 * on its own authority: zkinfer inlines external data into `raw_data` from sources the caller
 * chooses (the model's own directory for the CLI, the upload's own parts for the API), and every
 * later stage, onnxruntime included, sees a self-contained model.
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import onnxProto from 'onnx-proto';
import { ZkError } from '../core/errors.js';

const { ModelProto, TensorProto } = onnxProto.onnx;
type Tensor = onnxProto.onnx.ITensorProto;

/** The bytes of the external data file `location` names, for tensor `tensor`; throws when it may not be read. */
export type ExternalDataSource = (location: string, tensor: string) => Uint8Array;

/** Every tensor of a decoded model that keeps its data outside it, wherever it sits (subgraphs, sparse tensors, training info). */
export function externalTensors(model: onnxProto.onnx.IModelProto): Tensor[] {
  const found: Tensor[] = [];
  const stack: unknown[] = [model];
  while (stack.length) {
    const m = stack.pop();
    if (typeof m !== 'object' || m === null || ArrayBuffer.isView(m)) continue;
    if (m instanceof TensorProto && (m.dataLocation === TensorProto.DataLocation.EXTERNAL || (m.externalData?.length ?? 0) > 0)) found.push(m);
    for (const v of Object.values(m)) if (typeof v === 'object' && v !== null) stack.push(v);
  }
  return found;
}

const described = (t: Tensor) => `tensor ${JSON.stringify(t.name ?? '')}`;
const locationOf = (t: Tensor) => (t.externalData ?? []).find((e) => e.key === 'location')?.value ?? '';

/** Refuses (INPUT_INVALID, naming the tensor) a model that still keeps data outside itself. */
export function requireSelfContained(model: onnxProto.onnx.IModelProto): void {
  const t = externalTensors(model)[0];
  if (!t) return;
  const location = locationOf(t);
  throw new ZkError(
    'INPUT_INVALID',
    `${described(t)} keeps its data in the external file ${JSON.stringify(location)}, which was not supplied: upload it with the model as a multipart file part named "data" (the CLI reads it from beside the model)`,
    {
      tensor: t.name,
      location,
    },
  );
}

/**
 * The model with every external tensor's data read from `source` into its `raw_data` (the bytes
 * unchanged when it has none). Without a source, any external tensor is refused (INPUT_INVALID,
 * naming it). ONNX's `offset` and `length` keys select the tensor's bytes in the file.
 */
export function inlineExternalData(bytes: Uint8Array, source?: ExternalDataSource): Uint8Array {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = ModelProto.decode(bytes);
  } catch (e) {
    throw new ZkError('ONNX_MALFORMED', `not an ONNX model: ${(e as Error).message}`);
  }
  const tensors = externalTensors(model);
  if (tensors.length === 0) return bytes;
  if (!source) requireSelfContained(model);
  for (const t of tensors) {
    const keys = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const location = keys.get('location');
    if (!location) throw new ZkError('ONNX_MALFORMED', `${described(t)}: external data without a location`, { tensor: t.name });
    const file = source!(location, t.name ?? '');
    const offset = whole(keys.get('offset') ?? '0', t, 'offset');
    const length = keys.has('length') ? whole(keys.get('length')!, t, 'length') : file.length - offset;
    if (offset + length > file.length || length < 0)
      throw new ZkError('ONNX_MALFORMED', `${described(t)}: its external data lies beyond the end of ${JSON.stringify(location)}`, { tensor: t.name });
    t.rawData = file.subarray(offset, offset + length);
    t.externalData = [];
    t.dataLocation = TensorProto.DataLocation.DEFAULT;
  }
  return ModelProto.encode(model).finish();
}

function whole(text: string, t: Tensor, key: string): number {
  const n = Number(text);
  if (!/^\d{1,15}$/.test(text) || !Number.isSafeInteger(n))
    throw new ZkError('ONNX_MALFORMED', `${described(t)}: external data ${key} ${JSON.stringify(text.slice(0, 20))} is not a byte count`, { tensor: t.name });
  return n;
}

/**
 * External data from regular files inside `dir` (the model's own directory) only: a location that
 * is absolute, climbs with `..`, or resolves (through symlinks) outside `dir` is refused. Messages
 * name the location as the model wrote it, never a resolved path.
 */
export function directorySource(dir: string): ExternalDataSource {
  const root = realpathSync(dir);
  const files = new Map<string, Uint8Array>();
  return (location, tensor) => {
    const refuse = (why: string): never => {
      throw new ZkError('INPUT_INVALID', `tensor ${JSON.stringify(tensor)}: external data ${JSON.stringify(location)} ${why}`, { tensor, location });
    };
    if (isAbsolute(location) || /^[a-zA-Z]:|\0/.test(location) || location.split(/[\\/]/).includes('..')) refuse("is not a file inside the model's directory");
    let real = '';
    try {
      real = realpathSync(join(root, location));
    } catch {
      refuse('was not found beside the model');
    }
    const rel = relative(root, real);
    if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) refuse("leads outside the model's directory");
    if (!statSync(real).isFile()) refuse('is not a regular file');
    let data = files.get(real);
    if (!data) files.set(real, (data = readFileSync(real)));
    return data;
  };
}

/**
 * External data from files sent with an upload: the file whose name is the location's file name,
 * or, when only one was sent, that one for every location (the exporters write one file).
 */
export function uploadedSource(parts: ReadonlyMap<string, Uint8Array>): ExternalDataSource {
  return (location, tensor) => {
    const data = parts.get(basename(location.replace(/\\/g, '/'))) ?? (parts.size === 1 ? [...parts.values()][0] : undefined);
    if (!data)
      throw new ZkError(
        'INPUT_INVALID',
        `tensor ${JSON.stringify(tensor)} keeps its data in ${JSON.stringify(location)}, and no "data" part of the upload has that file name`,
        { tensor, location },
      );
    return data;
  };
}

/**
 * Reads a model file for the CLI, with its external data inlined from its own directory.
 * @throws ZkError INPUT_INVALID when the file cannot be read (the system's error is its cause).
 */
export function readModelFile(file: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new ZkError(
      'INPUT_INVALID',
      `cannot read the model file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      { file },
      { cause: e },
    );
  }
  return inlineExternalData(bytes, directorySource(dirname(file)));
}
