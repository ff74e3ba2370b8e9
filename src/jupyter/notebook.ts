/**
 * Notebooks in nbformat 4 (https://nbformat.readthedocs.io/en/latest/format_description.html):
 * reading and writing .ipynb files, and turning a kernel's output messages into cell outputs.
 */
import { readFileSync } from 'node:fs';
import type { Message } from './protocol.js';
import { writeFileAtomic } from '../files/atomic.js';

/** Text that nbformat stores either as one string or as a list of lines. */
export type MultilineString = string | string[];
export type MimeBundle = Record<string, unknown>;

export type Output =
  | { output_type: 'stream'; name: 'stdout' | 'stderr'; text: MultilineString }
  | { output_type: 'display_data'; data: MimeBundle; metadata: Record<string, unknown> }
  | { output_type: 'execute_result'; execution_count: number | null; data: MimeBundle; metadata: Record<string, unknown> }
  | { output_type: 'error'; ename: string; evalue: string; traceback: string[] };

export interface Cell {
  cell_type: 'code' | 'markdown' | 'raw';
  id?: string;
  source: MultilineString;
  metadata: Record<string, unknown>;
  execution_count?: number | null;
  outputs?: Output[];
}

export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, unknown>;
  cells: Cell[];
}

export function text(value: MultilineString): string {
  return Array.isArray(value) ? value.join('') : value;
}

export function readNotebook(file: string): Notebook {
  let notebook: Notebook;
  try {
    notebook = JSON.parse(readFileSync(file, 'utf8')) as Notebook;
  } catch (err) {
    throw new Error(`Cannot read the notebook ${file}: ${(err as Error).message}`);
  }
  if (notebook === null || typeof notebook !== 'object' || notebook.nbformat !== 4 || !Array.isArray(notebook.cells)) {
    throw new Error(`${file} is not an nbformat 4 notebook (nbformat ${(notebook as Notebook | null)?.nbformat}); open and save it in Jupyter to convert it.`);
  }
  notebook.cells.forEach((cell, i) => {
    const problem = cellProblem(cell);
    if (problem) {
      const id = (cell as Cell | null)?.id;
      throw new Error(`${file}: cell ${i + 1}${typeof id === 'string' ? ` (id "${id}")` : ''} ${problem}; mend it in Jupyter or a text editor (nbformat 4).`);
    }
  });
  return notebook;
}

const isText = (value: unknown): boolean => typeof value === 'string' || (Array.isArray(value) && value.every((line) => typeof line === 'string'));
const isObject = (value: unknown): boolean => value !== null && typeof value === 'object' && !Array.isArray(value);

/** What makes `cell` unusable, named by its field, or undefined when it is a valid nbformat 4 cell. */
function cellProblem(cell: unknown): string | undefined {
  if (!isObject(cell)) return `is ${JSON.stringify(cell)}, not a cell object`;
  const { cell_type: type, source, metadata, outputs } = cell as Record<string, unknown>;
  if (type !== 'code' && type !== 'markdown' && type !== 'raw') return `has the field "cell_type" ${JSON.stringify(type)}, not "code", "markdown" or "raw"`;
  if (!isText(source)) return `has the field "source" ${JSON.stringify(source)}, not a string or a list of strings`;
  if (metadata !== undefined && !isObject(metadata)) return `has the field "metadata" ${JSON.stringify(metadata)}, not an object`;
  if (outputs !== undefined && !(Array.isArray(outputs) && outputs.every(isObject))) return 'has the field "outputs" that is not a list of output objects';
  return undefined;
}

export function writeNotebook(file: string, notebook: Notebook): void {
  writeFileAtomic(file, JSON.stringify(notebook, null, 1) + '\n');
}

/**
 * Collects the outputs of a notebook's cells from output messages, the way Jupyter frontends
 * show them: consecutive stream text is merged, `clear_output` empties the cell, and
 * `update_display_data` replaces an earlier display (in any cell) with the same display_id.
 */
export class OutputCollector {
  private readonly displays = new Map<string, Output[]>();
  private clearPending = false;

  /** Adds the output carried by `message` (if any) to `outputs`. */
  add(outputs: Output[], message: Message): void {
    const c = message.content;
    const type = message.header.msg_type;
    if (type === 'clear_output') {
      if (c.wait) this.clearPending = true;
      else outputs.length = 0;
      return;
    }
    if (!['stream', 'display_data', 'update_display_data', 'execute_result', 'error'].includes(type)) return;
    if (this.clearPending) {
      outputs.length = 0;
      this.clearPending = false;
    }
    const displayId: string | undefined = c.transient?.display_id;
    if (type === 'update_display_data') {
      for (const shown of displayId ? this.displays.get(displayId) ?? [] : []) {
        Object.assign(shown, { data: c.data, metadata: c.metadata ?? {} });
      }
      return;
    }
    const last = outputs[outputs.length - 1];
    if (type === 'stream' && last?.output_type === 'stream' && last.name === c.name) {
      last.text = text(last.text) + c.text;
      return;
    }
    const output: Output =
      type === 'stream' ? { output_type: 'stream', name: c.name, text: c.text }
      : type === 'error' ? { output_type: 'error', ename: c.ename ?? '', evalue: c.evalue ?? '', traceback: c.traceback ?? [] }
      : type === 'execute_result' ? { output_type: 'execute_result', execution_count: c.execution_count ?? null, data: c.data, metadata: c.metadata ?? {} }
      : { output_type: 'display_data', data: c.data, metadata: c.metadata ?? {} };
    outputs.push(output);
    if (displayId) this.displays.set(displayId, [...(this.displays.get(displayId) ?? []), output]);
  }
}
