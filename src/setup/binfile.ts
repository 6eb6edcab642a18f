/**
 * iden3's binary file format ("binfile": magic, version, then typed sections of u64 length), which
 * ptau, r1cs and zkey files share: the section table, read without loading any payload.
 */
import { open, stat } from 'node:fs/promises';
import { ZkError, type ZkErrorCode } from '../core/errors.js';

export interface BinSection {
  offset: number;
  size: number;
}

export interface BinFile {
  version: number;
  sections: Map<number, BinSection[]>;
  /** Reads `length` bytes at `offset`; only valid inside the callback of `withBinFile`. */
  read(offset: number, length: number): Promise<Buffer>;
}

/**
 * Opens an iden3 binary file (ptau, r1cs, zkey) and scans its section table without loading any
 * payload, so inspecting a multi-GB ceremony file costs a few reads. Format problems become a
 * ZkError with `code`, including a section running past the end (a truncated download).
 */
export async function withBinFile<T>(file: string, magic: string, code: ZkErrorCode, use: (bin: BinFile) => Promise<T>): Promise<T> {
  const fh = await open(file, 'r');
  try {
    const fileSize = (await fh.stat()).size;
    const read = async (offset: number, length: number): Promise<Buffer> => {
      if (offset + length > fileSize) throw new ZkError(code, `${file}: unexpected end of file`);
      const buf = Buffer.alloc(length);
      await fh.read(buf, 0, length, offset);
      return buf;
    };
    const head = fileSize >= 12 ? await read(0, 12) : Buffer.alloc(0);
    if (head.length < 12 || head.toString('latin1', 0, 4) !== magic) {
      throw new ZkError(code, `${file} is not a ${magic} file (bad magic bytes)`);
    }
    const sections = await scanSections(file, code, head.readUInt32LE(8), fileSize, read);
    return await use({ version: head.readUInt32LE(4), sections, read });
  } finally {
    await fh.close();
  }
}

async function scanSections(file: string, code: ZkErrorCode, count: number, fileSize: number, read: BinFile['read']): Promise<Map<number, BinSection[]>> {
  const sections = new Map<number, BinSection[]>();
  let pos = 12;
  for (let i = 0; i < count; i++) {
    if (pos + 12 > fileSize) throw new ZkError(code, `${file} is truncated (section table ends early)`);
    const entry = await read(pos, 12);
    const type = entry.readUInt32LE(0);
    const size = Number(entry.readBigUInt64LE(4));
    const offset = pos + 12;
    if (offset + size > fileSize) {
      throw new ZkError(code, `${file} is truncated: section ${type} runs past the end of the file`);
    }
    sections.set(type, [...(sections.get(type) ?? []), { offset, size }]);
    pos = offset + size;
  }
  return sections;
}

/** The single section of a type, or undefined; duplicates are a format error. */
export function uniqueSection(bin: BinFile, type: number, file: string, code: ZkErrorCode) {
  const found = bin.sections.get(type);
  if (found && found.length > 1) throw new ZkError(code, `${file}: section ${type} is duplicated`);
  return found?.[0];
}

/** Throws `code` ("<what> not found") unless `file` is a regular file. */
export async function requireFile(file: string, code: ZkErrorCode, what: string): Promise<void> {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) throw new ZkError(code, `${what} not found: ${file}`, { file });
}
