/** The results table: one row per metric, floor beside kernel, with the ratio and the verdict. */

export interface Row {
  metric: string;
  unit: string;
  floor: number | null;
  kernel: number | null;
  /** kernel / floor, when both exist and the ratio means something. */
  ratio: number | null;
  target: string;
  /** null: no target, reported for information. */
  pass: boolean | null;
}

export function row(
  metric: string,
  unit: string,
  floor: number | null,
  kernel: number | null,
  target: string,
  pass: boolean | null,
  /** false: no ratio (it would mean nothing); a number: this ratio instead of kernel / floor. */
  ratioOf: boolean | number = true,
): Row {
  let ratio: number | null = null;
  if (typeof ratioOf === 'number') ratio = Math.round(ratioOf * 100) / 100;
  else if (ratioOf && floor !== null && kernel !== null && floor !== 0) ratio = Math.round((kernel / floor) * 100) / 100;
  return { metric, unit, floor, kernel, ratio, target, pass };
}

function cell(value: number | null): string {
  if (value === null || Number.isNaN(value)) return '-';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return String(Math.round(value * 10) / 10);
}

function verdict(pass: boolean | null): string {
  return pass === null ? 'info' : pass ? 'PASS' : 'FAIL';
}

const HEADERS = ['metric', 'unit', 'floor', 'kernel', 'ratio', 'target', 'result'];

function cells(r: Row): string[] {
  return [r.metric, r.unit, cell(r.floor), cell(r.kernel), r.ratio === null ? '-' : `${r.ratio.toFixed(2)}x`, r.target, verdict(r.pass)];
}

/** Aligned plain text: text columns left, numbers right. */
export function formatTable(rows: Row[]): string {
  const body = rows.map(cells);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...body.map((c) => (c[i] as string).length)));
  const numeric = [false, false, true, true, true, false, false];
  const line = (c: string[]) =>
    c
      .map((text, i) => (numeric[i] ? text.padStart(widths[i] as number) : text.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(HEADERS), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The same table in Markdown, for docs/benchmarks.md. */
export function formatMarkdown(rows: Row[]): string {
  const lines = [`| ${HEADERS.join(' | ')} |`, `|${HEADERS.map((_, i) => ([2, 3, 4].includes(i) ? '---:' : '---')).join('|')}|`];
  for (const r of rows) lines.push(`| ${cells(r).join(' | ')} |`);
  return lines.join('\n');
}
