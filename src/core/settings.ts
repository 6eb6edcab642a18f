/**
 * The compile settings, declared once. Each is text as it arrives — a CLI flag's value, a query
 * parameter, a multipart field — parsed by one zod schema to the value compile uses. The same schema
 * drives the CLI's parsing and help, the API's upload validation, the OpenAPI document
 * (`settingsJsonSchema`) and the README's table (scripts/readme-tables.ts prints it; a test checks the README);
 * `compileOptionsOf` turns parsed settings into the options compileModel takes, so every edge
 * compiles the same way (without `scale`, calibration picks it: AUTO_SCALES).
 */
import { z } from 'zod';
import { DEFAULT_VISIBILITY, formatVisibility, type ModelVisibility, parseVisibility } from '../commit/visibility.js';
import { AUTO_SCALES, DEFAULT_HEADROOM } from '../model/defaults.js';
import { type GraphSettings, hasGraphSettings, parseDims, parseSetting } from '../model/prepare.js';
import { ZkError } from './errors.js';
import { PROOF_SYSTEMS, type ProofSystem } from './systems.js';

/** Names end up in logs, metrics and the proof bundle: keep them plain. */
export const MODEL_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

/** `sequence=4,batch=1` → sizes by name (the CLI's repeated --dim comes joined by commas). */
const dims = (text: string): Record<string, number> =>
  parseDims(
    text
      .split(',')
      .map((d) => d.trim())
      .filter(Boolean),
    'dim',
  );

/** `{"axes":[1]}`: input name → number or array of numbers. */
function fixed(text: string): Record<string, number[]> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ZkError('INPUT_INVALID', `fix is not valid JSON: ${(e as Error).message}`, undefined, { cause: e });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ZkError('INPUT_INVALID', 'fix must be a JSON object: input name → number or array');
  return Object.fromEntries(Object.entries(value).map(([name, v]) => parseSetting(`${name}=${JSON.stringify(v)}`, 'fix')));
}

export const settingsSchema = z.strictObject({
  name: z.string().regex(MODEL_NAME, 'letters, digits, _ . - (at most 64)').optional().describe('the model name (default: from the graph or the file name)'),
  scale: z.coerce
    .number()
    .int()
    .min(1)
    .max(32)
    .optional()
    .describe(
      `fixed-point fraction bits (default: the smallest of ${AUTO_SCALES.join(', ')} whose error on the calibration inputs is within the tolerance it states)`,
    ),
  headroom: z.coerce
    .number()
    .int()
    .min(0)
    .max(32)
    .optional()
    .describe(`range bits above the largest value seen in calibration (default ${DEFAULT_HEADROOM}: a ${2 ** DEFAULT_HEADROOM}× margin)`),
  calibration: z
    .string()
    .optional()
    .describe('calibration inputs: one input document or a JSON array of them (default: eight seeded random inputs in [-1, 1))'),
  visibility: z
    .string()
    .max(100)
    .transform(parseVisibility)
    .optional()
    .describe(
      `what proofs reveal: input=public|private|hashed, weights=fixed|public|private|hashed, output=public|private|hashed (default ${formatVisibility(DEFAULT_VISIBILITY)})`,
    ),
  system: z.enum(PROOF_SYSTEMS).optional().describe('proof system of the keys (default groth16)'),
  dim: z
    .string()
    .max(1000)
    .transform(dims)
    .optional()
    .describe('sizes of symbolic dims, name=size,… (default: from the calibration input when its size decides it, else 1)'),
  fix: z
    .string()
    .max(100_000)
    .transform(fixed)
    .optional()
    .describe('parameter inputs (axes, shape, pads…) fixed as constants: a JSON object, input name → number or array'),
  accept_error: bool.optional().describe('true: compile even when the measured error exceeds the stated tolerance (model.json and every proof say so)'),
  clientProving: bool
    .optional()
    .describe('true: publish the proving artifacts (wasm, zkey, r1cs, plan) so clients prove on their own machines; only for weights=fixed or weights=public'),
  ceremony: z.enum(['open', 'none']).optional().describe('open: set up with an open Groth16 phase-2 ceremony; proofs wait until its owner finalizes it'),
});

export type SettingName = keyof typeof settingsSchema.shape;
/** Parsed settings; absent ones take their defaults where they are used. */
export type Settings = z.output<typeof settingsSchema>;

/** The settings' JSON schema (OpenAPI 3.0 dialect): each as the text it is sent as. */
export const settingsJsonSchema = z.toJSONSchema(settingsSchema, { io: 'input', target: 'openapi-3.0' }) as {
  properties: Record<SettingName, { description: string } & Record<string, unknown>>;
};

/** The `zkinfer compile` flags of the settings (the CLI derives name and publication from the file and the commands). */
export const SETTING_FLAGS = {
  scale: '--scale <bits>',
  headroom: '--headroom <bits>',
  calibration: '--calibrate <input.json>',
  visibility: '--visibility <spec>',
  dim: '--dim <name=size>',
  fix: '--fix <name=value>',
  accept_error: '--accept-error',
  system: 'setup --system <system>',
} as const satisfies Partial<Record<SettingName, string>>;

/** What compile needs of the settings (the rest concern the service: name, publication, ceremony, keys). */
export interface CompileSettingsOf {
  scale?: number;
  headroomBits?: number;
  visibility?: ModelVisibility;
  system?: ProofSystem;
  graph?: GraphSettings;
  acceptError?: boolean;
}

/** Settings → the options compileModel and the service's build take; unset ones stay unset (defaults apply in one place, compile). */
export function compileOptionsOf(s: Settings): CompileSettingsOf {
  const graph = { ...(s.dim ? { dims: s.dim } : {}), ...(s.fix ? { fix: s.fix } : {}) };
  return {
    ...(s.scale !== undefined ? { scale: s.scale } : {}),
    ...(s.headroom !== undefined ? { headroomBits: s.headroom } : {}),
    ...(s.visibility ? { visibility: s.visibility } : {}),
    ...(s.system ? { system: s.system } : {}),
    ...(hasGraphSettings(graph) ? { graph } : {}),
    ...(s.accept_error ? { acceptError: true } : {}),
  };
}

/** The README's settings table, from the schema (scripts/readme-tables.ts prints it; a test holds the README to it). */
export function settingsTable(): string {
  const flags: Partial<Record<SettingName, string>> = SETTING_FLAGS;
  const rows = (Object.keys(settingsSchema.shape) as SettingName[]).map((name) => {
    const { description } = settingsJsonSchema.properties[name];
    const flag = flags[name];
    return `| \`${name}\` | ${flag ? `\`${flag}\`` : '—'} | ${description.replace(/\|/g, '\\|')} |`;
  });
  return ['| upload field | CLI | what |', '|---|---|---|', ...rows].join('\n');
}
