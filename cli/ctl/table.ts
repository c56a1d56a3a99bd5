// Tables for people (`netloom ctl nodes` without -o): a header row in capitals, aligned
// columns two spaces apart, no trailing blanks. Pure, so the layout is unit-tested on its own;
// scripts use `-o json|yaml`, never this text.

export interface Table {
  /** Column titles, printed in capitals. */
  columns: readonly string[];
  rows: readonly (readonly string[])[];
  /** Printed instead of an empty table (the header alone reads like a bug). */
  empty?: string;
}

/** A cell longer than `max` ends in '…'; tables stay readable when a value is long. */
export function clip(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A list cell: the first `max` items, then "+N". '-' for none. */
export function listCell(items: readonly string[], max = 3): string {
  if (items.length === 0) return '-';
  const shown = items.slice(0, max).join(',');
  return items.length > max ? `${shown} +${items.length - max}` : shown;
}

/** An optional value as a cell: '-' when empty. */
export const cell = (v: string | number | null | undefined): string =>
  v === undefined || v === null || v === '' ? '-' : String(v);

/** The table as text, ending with a newline. Cells never hold newlines (they are replaced). */
export function formatTable(t: Table): string {
  if (t.rows.length === 0 && t.empty !== undefined) return `${t.empty}\n`;
  const header = t.columns.map((c) => c.toUpperCase());
  const rows = [header, ...t.rows.map((r) => header.map((_, i) => (r[i] ?? '').replace(/\s*\n\s*/g, ' ')))];
  const widths = header.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}
