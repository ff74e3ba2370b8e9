/**
 * The progress of a training loop, shown where the loop runs: in a terminal one line redrawn in
 * place; in a notebook on the finetune-lab (tslab) kernel one display updated in place (Jupyter's
 * display_data, then update_display_data with its display_id); anywhere else (a log file, a
 * pipe) a line every `intervalSeconds` at most. Everywhere the same text: the lines the loop
 * keeps (epoch results, evaluations), then its latest state, which the next kept line replaces.
 */
import { clearLine, redrawLine, type TerminalStream } from '../terminal.js';
import { formatDuration } from '../numbers.js';

/** What the training loop reports after a step. */
export interface ProgressState {
  /** Epoch `epoch` (from 1) of `epochs`, where the loop runs in epochs. */
  epoch?: number;
  epochs?: number;
  /** Steps done of `steps`: in this epoch, or in the whole run where there are no epochs; `steps` undefined while not known yet (a time budget being measured). */
  step: number;
  steps?: number;
  loss: number;
  lr?: number;
  samplesPerSecond: number;
}

export interface Progress {
  /** The loop's latest state. */
  update(state: ProgressState): void;
  /** A line that stays, e.g. an epoch's validation result; it takes the latest state's place. */
  log(line: string): void;
  /** Shows what is still pending; call it when the loop ends, also on an error. */
  stop(): void;
}

export interface ProgressOptions {
  /** Samples per step, for the time left. */
  batchSize: number;
  /** The terminal or log to write to; default process.stderr. */
  stream?: TerminalStream;
  /** Seconds between two lines of a log (default 15). */
  intervalSeconds?: number;
}

/** Where the text goes; `status` is called at most every `intervalMs`, and with the last state at the end. */
interface Sink {
  intervalMs: number;
  status(text: string): void;
  line(text: string): void;
  end(): void;
}

const TERMINAL_INTERVAL_MS = 100;
/** Each update is a message to the notebook front end (and to `finetune-lab run`'s status line). */
const NOTEBOOK_INTERVAL_MS = 500;
const BAR_WIDTH = 20;

function bar(fraction: number): string {
  const full = Math.round(Math.min(Math.max(fraction, 0), 1) * BAR_WIDTH);
  return `[${'█'.repeat(full)}${'░'.repeat(BAR_WIDTH - full)}]`;
}

/** One line: where the loop is, its loss and speed, and the time left for the steps still to come. */
export function describeProgress(s: ProgressState, batchSize: number): string {
  const { steps } = s;
  const laterEpochs = s.epoch !== undefined && s.epochs !== undefined ? s.epochs - s.epoch : 0;
  const secondsLeft = steps === undefined ? undefined : ((laterEpochs * steps + steps - s.step) * batchSize) / Math.max(s.samplesPerSecond, 1e-9);
  return [
    `${s.epoch !== undefined ? `epoch ${s.epoch}/${s.epochs} ` : ''}${steps === undefined ? `step ${s.step}` : `${bar(s.step / steps)} step ${s.step}/${steps}`}`,
    `loss ${s.loss.toFixed(4)}`,
    ...(s.lr !== undefined ? [`lr ${s.lr.toExponential(2)}`] : []),
    `${s.samplesPerSecond.toFixed(1)} samples/s`,
    secondsLeft === undefined ? 'timing the first steps' : `${formatDuration(secondsLeft)} left`,
  ].join(' | ');
}

function terminalSink(stream: TerminalStream): Sink {
  let drawn = false;
  return {
    intervalMs: TERMINAL_INTERVAL_MS,
    status(text) {
      redrawLine(stream, text);
      drawn = true;
    },
    line(text) {
      if (drawn) clearLine(stream);
      stream.write(`${text}\n`);
      drawn = false;
    },
    end() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}

/** The display of the running notebook cell, or undefined outside a tslab kernel. */
function notebookSink(): Sink | undefined {
  let display: ReturnType<typeof import('tslab').newDisplay>;
  try {
    display = (require('tslab') as typeof import('tslab')).newDisplay();
  } catch {
    return undefined;
  }
  const kept: string[] = [];
  let latest: string | undefined;
  const show = () => display.text([...kept, ...(latest === undefined ? [] : [latest])].join('\n'));
  try {
    show(); // tslab's display throws "Not ready" outside a kernel
  } catch {
    return undefined;
  }
  return {
    intervalMs: NOTEBOOK_INTERVAL_MS,
    status(text) {
      latest = text;
      show();
    },
    line(text) {
      kept.push(text);
      latest = undefined;
      show();
    },
    end() {},
  };
}

function logSink(stream: NodeJS.WritableStream, intervalSeconds: number): Sink {
  return {
    intervalMs: intervalSeconds * 1000,
    status: (text) => stream.write(`${text}\n`),
    line: (text) => stream.write(`${text}\n`),
    end() {},
  };
}

/** A progress display for a loop of `batchSize` samples per step, on the first output choosing where it goes. */
export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  let sink: Sink | undefined;
  const target = () => (sink ??= stream.isTTY ? terminalSink(stream) : notebookSink() ?? logSink(stream, options.intervalSeconds ?? 15));
  let pending: string | undefined;
  let shown = 0;
  const flush = () => {
    if (pending === undefined) return;
    target().status(pending);
    pending = undefined;
    shown = Date.now();
  };
  return {
    update(state) {
      pending = describeProgress(state, options.batchSize);
      // The end of an epoch (or run) is always shown: it is the state the loop stops in.
      if (state.step === state.steps || Date.now() - shown >= target().intervalMs) flush();
    },
    log(line) {
      pending = undefined;
      target().line(line);
    },
    stop() {
      flush();
      sink?.end();
    },
  };
}
