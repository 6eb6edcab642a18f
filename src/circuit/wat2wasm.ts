/**
 * circom's text output (main_js/main.wat) → main_js/main.wasm with WABT (npm `wabt`), in a child
 * process of compileCircom so its memory is returned when it exits. circom2's own conversion (the
 * Rust `wast` parser inside 32-bit WebAssembly) could not allocate the 1.7 GB it asked for on
 * LeNet-5's 126 MB of text; WABT converts the same text in about 8 s and 1.1 GB (measured here).
 * Usage: `node wat2wasm.js main.wat main.wasm`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

/**
 * Instruction names circom writes that the WebAssembly text format renamed (circom's templates still
 * print the 2017 names; WABT reads only the current ones). The rename changes no opcode.
 */
const LEGACY_NAMES: Readonly<Record<string, string>> = {
  get_local: 'local.get',
  set_local: 'local.set',
  tee_local: 'local.tee',
  get_global: 'global.get',
  set_global: 'global.set',
  'i32.wrap/i64': 'i32.wrap_i64',
  'i64.extend_u/i32': 'i64.extend_i32_u',
  'i64.extend_s/i32': 'i64.extend_i32_s',
  current_memory: 'memory.size',
  grow_memory: 'memory.grow',
};
const LEGACY = new RegExp(
  `(?<=^|\\s|\\()(${Object.keys(LEGACY_NAMES)
    .map((k) => k.replace(/[./]/g, '\\$&'))
    .join('|')})(?=\\s|\\)|$)`,
  'gm',
);

/** The WebAssembly binary of circom's text output. Throws WABT's parse error on text it cannot read. */
export async function watToWasm(text: string): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const module = wabt.parseWat(
    'main.wat',
    text.replace(LEGACY, (name) => LEGACY_NAMES[name]),
    {},
  );
  try {
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [watPath, wasmPath] = process.argv.slice(2);
  // latin1: circom's text is ASCII (data segments are \xx escapes), and a one-byte decoding halves the string.
  writeFileSync(wasmPath, await watToWasm(readFileSync(watPath, 'latin1')));
}
