/**
 * Headless notebook execution: runs a notebook's code cells in order on a fresh finetune-lab
 * kernel (tslab) started in the notebook's directory with this process's environment, so that
 * FINETUNE_LAB_* settings reach the notebook. The first failing cell stops the notebook: a thrown
 * error, a TypeScript error, an unhandled promise rejection (also one reported after its cell
 * finished), a dead kernel, or a cell that outlives its timeout. The executed copy, with outputs
 * in nbformat 4 form, is written whether the notebook succeeded or not, and signed as trusted for
 * the user's Jupyter: it is their own output, made here, and opens with its charts drawn.
 */
import * as path from 'node:path';
import { trustNotebook } from './jupyter.js';
import { Kernel, KernelExitedError } from './kernel.js';
import { readKernelSpec } from './kernelspec.js';
import { OutputCollector, readNotebook, text, writeNotebook, type Output } from './notebook.js';
import type { Message } from './protocol.js';

/** Default per-cell limit: long enough for the `default` profile's training cells. */
export const DEFAULT_CELL_TIMEOUT_S = 600;
/** How long to wait after the last cell for errors the kernel reports late (dropped promises). */
const LATE_ERROR_GRACE_MS = 300;
/** How long an interrupted cell may take to stop before the kernel is killed. */
const INTERRUPT_GRACE_MS = 5000;

export interface RunOptions {
  /** Directory for the executed copy; it keeps the notebook's file name. */
  outDir: string;
  /** Seconds a cell may run before it is interrupted and the notebook fails. */
  cellTimeoutS?: number;
  /** Called when the kernel starts, as each code cell starts and finishes, and as it shows output. */
  onProgress?: (progress: Progress) => void;
}

export type Progress =
  | { phase: 'kernel'; notebook: string }
  | { phase: 'ready'; notebook: string; seconds: number }
  /** `seconds` is set once the cell finished. `cell` counts all cells from 1, as in the file. */
  | { phase: 'cell'; notebook: string; cell: number; cells: number; seconds?: number }
  /**
   * The latest line the running cell showed: the end of its output text, or the text of a display
   * it updated in place (such as a training loop's progress, src/train/progress.ts).
   */
  | { phase: 'output'; notebook: string; cell: number; cells: number; text: string };

export interface CellFailure {
  /** 1-based position among all cells of the notebook. */
  cell: number;
  cells: number;
  source: string;
  /** The real error text: stack trace, TypeScript diagnostics, or why the cell was stopped. */
  error: string;
}

export interface NotebookResult {
  notebook: string;
  /** Where the executed copy was written. */
  output: string;
  ok: boolean;
  failure?: CellFailure;
  seconds: number;
  /** Why the executed copy could not be signed as trusted, if it could not. */
  untrusted?: string;
}

const TIMED_OUT = Symbol('timed out');

async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => { timer = setTimeout(() => resolve(TIMED_OUT), ms); });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/**
 * The text of a failure from an error message or reply (ename, evalue, traceback), falling back
 * to what the cell wrote to stderr: kernels such as stock tslab send their errors only there.
 */
function errorText(content: Record<string, any>, stderr: string): string {
  const traceback = Array.isArray(content.traceback) ? content.traceback.join('\n') : '';
  const summary = content.ename || content.evalue ? `${content.ename || 'Error'}: ${content.evalue ?? ''}` : '';
  const found = [traceback, summary, stderr].map((t) => t.replace(ANSI, '').trim()).find((t) => t !== '');
  return found ?? 'the kernel reported the cell as failed without any error text; run the notebook in JupyterLab to inspect it';
}

/** The last line of text an output message shows (stream text, or a display's text/plain), if any. */
function latestLine(message: Message): string | undefined {
  const c = message.content;
  const type = message.header.msg_type;
  const text = type === 'stream' ? c.text : ['display_data', 'update_display_data', 'execute_result'].includes(type) ? c.data?.['text/plain'] : undefined;
  if (typeof text !== 'string') return undefined;
  // A line redrawn with carriage returns shows what follows the last one.
  const lines = text.replace(ANSI, '').split('\n').map((l) => l.slice(l.lastIndexOf('\r') + 1).trim());
  return lines.reverse().find((l) => l !== '');
}

/** Runs `file` and writes the executed copy to `options.outDir`. */
export async function runNotebook(file: string, options: RunOptions): Promise<NotebookResult> {
  const started = Date.now();
  const timeoutMs = (options.cellTimeoutS ?? DEFAULT_CELL_TIMEOUT_S) * 1000;
  const progress = options.onProgress ?? (() => {});
  const notebook = readNotebook(file);
  const output = path.join(options.outDir, path.basename(file));
  const cells = notebook.cells;
  for (const cell of cells) {
    if (cell.cell_type !== 'code') continue;
    cell.outputs = [];
    cell.execution_count = null;
  }
  const spec = readKernelSpec();
  const collector = new OutputCollector();
  const cellOfRequest = new Map<string, number>();
  const stderrOf = new Map<number, string>();
  let failure: CellFailure | undefined;
  let late: CellFailure | undefined;
  const fail = (index: number, error: string): CellFailure => ({ cell: index + 1, cells: cells.length, source: text(cells[index].source), error });
  const record = (index: number, message: Message): void => {
    collector.add(cells[index].outputs as Output[], message);
    if (message.header.msg_type === 'stream' && message.content.name === 'stderr') {
      stderrOf.set(index, (stderrOf.get(index) ?? '') + message.content.text);
    }
  };

  progress({ phase: 'kernel', notebook: file });
  const kernel = await Kernel.start(spec, path.dirname(path.resolve(file)));
  progress({ phase: 'ready', notebook: file, seconds: (Date.now() - started) / 1000 });
  kernel.onLateOutput = (message) => {
    const index = cellOfRequest.get(message.parent_header.msg_id ?? '');
    if (index === undefined) return;
    record(index, message);
    if (message.header.msg_type === 'error') late ??= fail(index, errorText(message.content, ''));
  };

  let current = 0;
  try {
    for (; current < cells.length && !failure; current++) {
      const cell = cells[current];
      const source = text(cell.source);
      if (cell.cell_type !== 'code' || source.trim() === '') continue;
      const cellStarted = Date.now();
      progress({ phase: 'cell', notebook: file, cell: current + 1, cells: cells.length });
      const index = current;
      const request = kernel.execute(source, (message) => {
        record(index, message);
        const line = latestLine(message);
        if (line !== undefined) progress({ phase: 'output', notebook: file, cell: index + 1, cells: cells.length, text: line });
      });
      cellOfRequest.set(request.id, index);
      const reply = await within(request.done, timeoutMs);
      if (reply === TIMED_OUT) {
        failure = fail(index, await stopHungCell(kernel, request.done, index + 1, timeoutMs / 1000));
      } else {
        cell.execution_count = reply.content.execution_count ?? null;
        if (reply.content.status !== 'ok') {
          const shown = (cell.outputs as Output[]).find((o) => o.output_type === 'error');
          failure = fail(index, errorText(shown ?? reply.content, stderrOf.get(index) ?? ''));
        }
      }
      failure = late ?? failure;
      progress({ phase: 'cell', notebook: file, cell: index + 1, cells: cells.length, seconds: (Date.now() - cellStarted) / 1000 });
    }
    if (!failure) {
      await new Promise((resolve) => setTimeout(resolve, LATE_ERROR_GRACE_MS));
      failure = late;
    }
  } catch (err) {
    // The kernel died (crash, out of memory) while `current` ran.
    if (!(err instanceof KernelExitedError)) throw err;
    failure = fail(current, err.message);
  } finally {
    await kernel.shutdown();
    writeNotebook(output, notebook);
  }
  let untrusted: string | undefined;
  try {
    trustNotebook(output);
  } catch (err) {
    untrusted = (err as Error).message;
  }
  return { notebook: file, output, ok: !failure, failure, seconds: (Date.now() - started) / 1000, untrusted };
}

/** Interrupts a cell that ran out of time, kills the kernel if that does not stop it, and says what happened. */
async function stopHungCell(kernel: Kernel, done: Promise<Message>, cell: number, limitS: number): Promise<string> {
  const what = `cell ${cell} did not finish within its time limit of ${limitS} s`;
  const fix = 'If the cell needs longer, raise the limit with `finetune-lab run --timeout SECONDS`.';
  kernel.interrupt();
  const reply = await within(done.catch(() => undefined), INTERRUPT_GRACE_MS);
  if (reply === TIMED_OUT || reply === undefined) {
    kernel.kill();
    return `${what}; it ignored the interrupt (busy synchronous code), so the kernel was killed. ${fix}`;
  }
  return `${what} and was interrupted. ${fix}`;
}
