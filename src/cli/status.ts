/**
 * What `finetune-lab run` and `tutorial` show while a notebook runs: the running cell, how long it
 * has run, and the latest line it showed, such as a training loop's progress (step, loss, time
 * left). A terminal gets one line redrawn in place; a log (no terminal) a line when another cell
 * runs or the cell shows something new, every few seconds at most. Both end with the notebook's
 * line: the kernel's start-up time and each cell's, then the result.
 */
import { runNotebook, type NotebookResult, type Progress, type RunOptions } from '../notebooks/runner.js';
import { clearLine, redrawLine, type TerminalStream } from '../terminal.js';

const TERMINAL_TICK_MS = 250;
const LOG_INTERVAL_MS = 5000;

class NotebookStatus {
  private readonly timings: string[] = [];
  private kernelSeconds: number | undefined;
  private running: { cell: number; cells: number; started: number; output?: string } | undefined;
  private readonly started = Date.now();
  /** What the terminal line shows now, or the log's latest line. */
  private shown = '';
  private shownAt = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly notebook: string, private readonly stream: TerminalStream = process.stdout) {
    this.timer = setInterval(() => this.refresh(), stream.isTTY ? TERMINAL_TICK_MS : LOG_INTERVAL_MS / 5);
    this.timer.unref();
  }

  /** The runner's `onProgress`. */
  readonly onProgress = (p: Progress): void => {
    if (p.phase === 'ready') this.kernelSeconds = p.seconds;
    else if (p.phase === 'output') {
      if (this.running) this.running.output = p.text;
    } else if (p.phase === 'cell') {
      if (p.seconds === undefined) this.running = { cell: p.cell, cells: p.cells, started: Date.now() };
      else {
        this.timings.push(` ${p.cell}/${p.cells}:${p.seconds.toFixed(1)}s`);
        this.running = undefined;
      }
    }
  };

  /**
   * Ends the live line and prints the notebook's line, ending with `result` (e.g. " ok (12.0s) -> out");
   * without a result (the run threw) only the live line goes.
   */
  finish(result?: string): void {
    clearInterval(this.timer);
    if (this.stream.isTTY && this.shown) clearLine(this.stream);
    if (result === undefined) return;
    this.stream.write(`${this.notebook}: kernel ${(this.kernelSeconds ?? 0).toFixed(1)}s, cells${this.timings.join('')}${result}\n`);
  }

  private line(): string {
    if (!this.running) {
      return this.kernelSeconds === undefined ? `${this.notebook}: starting the kernel, ${Math.round((Date.now() - this.started) / 1000)}s` : '';
    }
    const { cell, cells, started, output } = this.running;
    return `${this.notebook}: cell ${cell}/${cells}, ${Math.round((Date.now() - started) / 1000)}s${output ? `: ${output}` : ''}`;
  }

  private refresh(): void {
    const line = this.line();
    if (this.stream.isTTY) {
      if (line === this.shown) return;
      redrawLine(this.stream, line);
      this.shown = line;
      return;
    }
    // A log gets a line when another cell runs or the cell shows something new; the seconds alone are no news.
    const news = this.running && `${this.running.cell}: ${this.running.output ?? ''}`;
    if (!news || news === this.shown || Date.now() - this.shownAt < LOG_INTERVAL_MS) return;
    this.stream.write(`${line}\n`);
    this.shown = news;
    this.shownAt = Date.now();
  }
}

/** The result of a notebook run as the end of its line: ok, or the failing cell, its source and its error. */
function report(result: NotebookResult): string {
  const untrusted = result.untrusted ? `\n  Not signed as trusted, so Jupyter will not draw its charts: ${result.untrusted}` : '';
  if (result.ok) return ` ok (${result.seconds.toFixed(1)}s) -> ${result.output}${untrusted}`;
  const f = result.failure!;
  const rule = '-'.repeat(60);
  return [
    ' FAILED',
    '',
    `${result.notebook}: cell ${f.cell} of ${f.cells} failed.`,
    `${rule} cell ${f.cell} source`,
    f.source.trimEnd(),
    `${rule} error`,
    f.error,
    rule,
    `The executed notebook, with the outputs up to the failure, is in ${result.output}${untrusted}`,
  ].join('\n');
}

/** Runs a notebook (runNotebook) with its status shown on standard output, and prints its result. */
export async function runAndShow(file: string, options: Omit<RunOptions, 'onProgress'>): Promise<NotebookResult> {
  const status = new NotebookStatus(file);
  let result: NotebookResult;
  try {
    result = await runNotebook(file, { ...options, onProgress: status.onProgress });
  } catch (err) {
    status.finish();
    throw err;
  }
  status.finish(report(result));
  return result;
}
