/** CLI output for people (aligned tables) and machines (`--json`); never the logger. */

export function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}

export function fail(message: string, exitCode = 1): never {
  process.stderr.write(`agentos: ${message}\n`);
  process.exit(exitCode);
}

export function printJson(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

/** Columns padded to their widest cell; numbers right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header, ...rows].map((row) => row.map((cell) => String(cell)));
  const widths = header.map((_, column) => Math.max(...cells.map((row) => row[column]?.length ?? 0)));
  const numeric = header.map((_, column) => rows.length > 0 && rows.every((row) => typeof row[column] === 'number'));
  return cells
    .map((row) =>
      row
        .map((cell, column) => (numeric[column] ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
