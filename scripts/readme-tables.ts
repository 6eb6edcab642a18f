/**
 * Prints the README's tables that the code defines: the compile settings (src/core/settings.ts) and
 * the error codes with their HTTP statuses and anchors (src/core/errors.ts, src/api/errors.ts).
 * Tests hold the README to this output: `node dist/scripts/readme-tables.js` after a change.
 */
import { HTTP_STATUS } from '../src/api/errors.js';
import { ERROR_CODES, errorDocs, ZK_ERROR_CODES } from '../src/core/errors.js';
import { settingsTable } from '../src/core/settings.js';

/** One heading per code (its anchor is what `docs` in an error names), with its status and meaning. */
export function errorCodesSection(): string {
  const table = [
    '| code | HTTP status |',
    '|---|---|',
    ...ZK_ERROR_CODES.map((c) => `| [\`${c}\`](${errorDocs(c).replace('README.md', '')}) | ${HTTP_STATUS[c]} |`),
  ];
  const entries = ZK_ERROR_CODES.map((c) => `#### Error ${c}\n\n${HTTP_STATUS[c]}: ${ERROR_CODES[c]}.`);
  return [table.join('\n'), ...entries].join('\n\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`${settingsTable()}\n\n${errorCodesSection()}`);
}
