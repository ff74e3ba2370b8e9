/**
 * Tables for notebooks. `console.table` draws box characters in a fixed-width stream, which
 * wraps into noise as soon as a row is wider than the output area (and in the exported report);
 * `table()` shows the same rows as an HTML table in a notebook and keeps `console.table` for a
 * terminal.
 */

/** What `table()` takes, like `console.table`: a list of rows, or an object of rows or of values. */
export type TableData = readonly object[] | object;

interface Grid {
  /** Column headers; the first is the index column when the data was an object. */
  columns: string[];
  rows: unknown[][];
  numeric: boolean[];
}

function isRow(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function grid(data: TableData, columns?: readonly string[]): Grid {
  const entries: [string | undefined, unknown][] = Array.isArray(data)
    ? data.map((row) => [undefined, row])
    : Object.entries(data as Record<string, unknown>);
  const keyed = !Array.isArray(data);
  // An object of plain values (settings, a summary) reads best as two columns: name and value.
  if (keyed && entries.every(([, v]) => !isRow(v))) {
    return { columns: ['', 'value'], rows: entries.map(([k, v]) => [k, v]), numeric: [false, entries.every(([, v]) => typeof v === 'number')] };
  }
  const names = columns ? [...columns] : [...new Set(entries.flatMap(([, row]) => (isRow(row) ? Object.keys(row) : [])))];
  const rows = entries.map(([key, row]) => [...(keyed ? [key] : []), ...names.map((name) => (isRow(row) ? row[name] : undefined))]);
  const header = [...(keyed ? [''] : []), ...names];
  const numeric = header.map((_, i) => rows.every((r) => r[i] === undefined || typeof r[i] === 'number'));
  return { columns: header, rows, numeric };
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function cell(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'number') return Number.isInteger(value) ? value.toLocaleString('en-US') : String(value);
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

/** The rows as an HTML `<table>`; numbers are right-aligned and integers get thousands separators. */
export function tableHtml(data: TableData, columns?: readonly string[]): string {
  const { columns: header, rows, numeric } = grid(data, columns);
  const align = (i: number) => (numeric[i] ? ' style="text-align:right"' : ' style="text-align:left"');
  const head = header.map((name, i) => `<th${align(i)}>${escape(name)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((v, i) => `<td${align(i)}>${escape(cell(v))}</td>`).join('')}</tr>`).join('\n');
  return `<table class="finetune-lab-table">\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

/**
 * Shows rows as a table: HTML in a notebook on the finetune-lab kernel, `console.table` outside
 * one. `columns` picks and orders the columns, as `console.table`'s second argument does.
 */
export function table(data: TableData, columns?: readonly string[]): void {
  const { display } = require('tslab') as typeof import('tslab');
  try {
    display.html(tableHtml(data, columns));
  } catch {
    // tslab's display throws "Not ready" outside a kernel: a terminal gets the text table.
    console.table(data, columns as string[] | undefined);
  }
}
