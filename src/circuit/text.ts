import type { IntForm } from '../quantize/plan.js';

/** The text of main.circom's expressions and comments. */

/**
 * A string from the model (node, tensor or graph name) as it may appear in a `//` comment of
 * main.circom: quoted, cut to 64 characters, every character outside printable ASCII escaped
 * (`\n`, `\u2028`, …) and both comment delimiters broken, so no name can end its comment or line,
 * or open one, and become code.
 * Only identifiers we generate ever reach the code itself.
 */
export function commentText(s: string): string {
  const cut = s.length > 64 ? `${s.slice(0, 64)}...` : s;
  return JSON.stringify(cut)
    .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/\*\//g, '*\\/')
    .replace(/\/\*/g, '/\\*');
}

/**
 * `bias + c*w[i] - c*w[j] ...`. circom evaluates a sum recursively, and a left-deep chain of hundreds
 * of terms overflows its stack, so runs of 8 terms are joined as a balanced tree of parentheses.
 */
export function affine(f: IntForm): string {
  const terms = f.wires.map((wire, t) => {
    const c = f.coefs[t];
    const mag = c < 0n ? -c : c;
    return { negative: c < 0n, text: mag === 1n ? `w[${wire}]` : `${mag}*w[${wire}]` };
  });
  const chunks: string[] = [];
  for (let i = 0; i < terms.length; i += 8) {
    chunks.push(
      terms
        .slice(i, i + 8)
        .map((t, k) => (k === 0 ? (t.negative ? '-' : '') + t.text : `${t.negative ? '-' : '+'} ${t.text}`))
        .join(' '),
    );
  }
  const sum = balanced(chunks);
  if (!sum) return f.bias.toString();
  return f.bias === 0n ? sum : `${f.bias} + ${chunks.length > 1 ? sum : `(${sum})`}`;
}

function balanced(parts: string[]): string {
  if (parts.length <= 1) return parts[0] ?? '';
  const mid = Math.ceil(parts.length / 2);
  return `(${balanced(parts.slice(0, mid))})\n        + (${balanced(parts.slice(mid))})`;
}

/** `c*x` terms joined with signs: coefficients are bigints, x signal expressions. */
export function linear(terms: ReadonlyArray<readonly [bigint, string]>, bias = 0n): string {
  const parts: string[] = [];
  for (const [c, x] of terms) {
    if (c === 0n) continue;
    const mag = c < 0n ? -c : c;
    const text = mag === 1n ? x : `${mag}*${x}`;
    parts.push(parts.length === 0 ? (c < 0n ? `-${text}` : text) : `${c < 0n ? '-' : '+'} ${text}`);
  }
  if (bias !== 0n || parts.length === 0) parts.push(parts.length === 0 ? String(bias) : `${bias < 0n ? '-' : '+'} ${bias < 0n ? -bias : bias}`);
  return parts.join(' ');
}
