/**
 * Which powers of tau a file is: a public ceremony file recognised by its published hash, a zkinfer
 * development file, or unknown. The published hashes are blake2b-512 of the whole file, as listed in
 * snarkjs' README for the Hermez (Polygon) Perpetual Powers of Tau files, prepared for phase 2.
 */
import { basename } from 'node:path';
import { inspectPtau } from './ptau-inspect.js';
import { blake2bOfFile, CEREMONY_FILES } from './ptau-files.js';

export interface PtauIdentity {
  /** The public file's name, or the file's own name when unknown. */
  name: string;
  power: number;
  source: 'hermez' | 'development' | 'unknown';
  /** blake2b-512 of the file, hex (how public ceremony files are published). */
  blake2b: string;
}

/** Reads the whole file once (blake2b) and its header (power); development files are zkinfer's own dev-potN.ptau. */
export async function identifyPtau(file: string): Promise<PtauIdentity> {
  const [{ power }, blake2b] = await Promise.all([inspectPtau(file), blake2bOfFile(file)]);
  const known = CEREMONY_FILES.find((c) => c.blake2b === blake2b);
  if (known) return { name: known.file, power, source: 'hermez', blake2b };
  return { name: basename(file), power, source: /^dev-pot\d+\.ptau$/.test(basename(file)) ? 'development' : 'unknown', blake2b };
}
