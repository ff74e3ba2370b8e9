/**
 * Tables for notebooks. `console.table` draws box characters in a fixed-width stream, which
 * wraps into noise as soon as a row is wider than the output area (and in the exported report);
 * `table()` shows the same rows as an HTML table in a notebook and keeps `console.table` for a
 * terminal.
 */
import { optionalPeer } from '../package/peers.js';

/**
 * What `table()` takes: what `console.table` takes (a list of rows, or an object of rows or of
 * values), or a danfojs DataFrame, shown with its index as pandas shows a DataFrame in Jupyter.
 */
export type TableData = readonly object[] | object;

/** The parts of a danfojs DataFrame a table needs. */
interface FrameLike {
  columns: string[];
  index: (string | number)[];
  values: unknown[][];
}

function isFrame(data: object): data is FrameLike {
  const f = data as Partial<FrameLike>;
  return Array.isArray(f.columns) && Array.isArray(f.index) && Array.isArray(f.values) && typeof (data as { print?: unknown }).print === 'function';
}

interface Grid {
  /** Column headers; the first is the index column when the data was an object. */
  columns: string[];
  rows: unknown[][];
  numeric: boolean[];
}

function isRow(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether every cell of column `i` is a number (or empty), to align it right. */
function numericColumns(width: number, rows: unknown[][]): boolean[] {
  return Array.from({ length: width }, (_, i) => rows.every((r) => r[i] === undefined || typeof r[i] === 'number'));
}

function grid(data: TableData, columns?: readonly string[]): Grid {
  if (isFrame(data)) {
    const picked = columns ? columns.map((c) => data.columns.indexOf(c)) : data.columns.map((_, i) => i);
    const rows = data.values.map((row, r) => [data.index[r], ...picked.map((i) => row[i])]);
    return { columns: ['', ...picked.map((i) => data.columns[i])], rows, numeric: [false, ...numericColumns(picked.length + 1, rows).slice(1)] };
  }
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
  return { columns: header, rows, numeric: numericColumns(header.length, rows) };
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
  const { display } = optionalPeer<typeof import('tslab')>('tslab', 'table()');
  try {
    display.html(tableHtml(data, columns));
  } catch {
    // tslab's display throws "Not ready" outside a kernel: a terminal gets the text table.
    if (isFrame(data)) (data as FrameLike & { print(): void }).print();
    else console.table(data, columns as string[] | undefined);
  }
}
