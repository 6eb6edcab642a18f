/** A Markdown table: a header row, its rule, and one row per entry (cells joined as they print). */
export const markdownTable = (head: readonly string[], rows: ReadonlyArray<readonly unknown[]>): string =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
