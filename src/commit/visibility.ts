import { ZkError } from '../core/errors.js';

/**
 * What a proof reveals of each part of the computation.
 * - `public`: the values are public signals (anyone checking the proof sees them);
 * - `private`: the values are witness only (the proof says some values in range gave this result);
 *   for weights it means `hashed` (see bindWeights);
 * - `hashed`: private, with a Poseidon commitment to them as a public signal;
 * - `fixed` (weights only): the weights are constants of the circuit, bound by its verifying key.
 */
export type Visibility = 'public' | 'private' | 'hashed';
export type WeightVisibility = Visibility | 'fixed';

export interface ModelVisibility {
  input: Visibility;
  weights: WeightVisibility;
  output: Visibility;
}

export const DEFAULT_VISIBILITY: ModelVisibility = { input: 'public', weights: 'fixed', output: 'public' };

const CHOICES = { input: ['public', 'private', 'hashed'], weights: ['fixed', 'public', 'private', 'hashed'], output: ['public', 'private', 'hashed'] } as const;

/**
 * Private weights are compiled as hashed ones, their commitment pinned in model.json: weights that
 * are only witness values let anyone holding the proving key prove any output under any weights (a
 * proof with every weight negated verified), so nothing a verifier checks would tie a proof to the
 * model. The commitment hides the weights as well; it adds a Poseidon hash and one public signal.
 */
export const bindWeights = (v: ModelVisibility): ModelVisibility => (v.weights === 'private' ? { ...v, weights: 'hashed' } : v);

/** `input=hashed,weights=hashed,output=public` (any subset; the rest keep their defaults; see bindWeights). */
export function parseVisibility(text: string | undefined): ModelVisibility {
  const result: ModelVisibility = { ...DEFAULT_VISIBILITY };
  if (!text?.trim()) return result;
  const seen = new Set<string>();
  for (const part of text.split(',')) {
    const [key, value, extra] = part.split('=').map((s) => s.trim());
    if (!Object.hasOwn(CHOICES, key) || extra !== undefined) {
      throw new ZkError('INPUT_INVALID', `visibility "${part}": expected input=…, weights=… or output=…`, { visibility: text });
    }
    if (seen.has(key)) throw new ZkError('INPUT_INVALID', `visibility names ${key} twice`, { visibility: text });
    seen.add(key);
    const allowed: readonly string[] = CHOICES[key as keyof ModelVisibility];
    if (!allowed.includes(value)) {
      throw new ZkError('INPUT_INVALID', `visibility of ${key} must be one of ${allowed.join(', ')}, got "${value ?? ''}"`, { visibility: text });
    }
    (result as unknown as Record<string, string>)[key] = value;
  }
  return bindWeights(result);
}

export const formatVisibility = (v: ModelVisibility): string => `input=${v.input},weights=${v.weights},output=${v.output}`;

/** Whether the circuit takes a salt: hashed inputs or outputs are blinded with one. */
export const needsSalt = (v: ModelVisibility): boolean => v.input === 'hashed' || v.output === 'hashed';
