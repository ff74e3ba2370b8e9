import { SingleBar } from 'cli-progress';

/** What the training loop reports after each step. */
export interface ProgressState {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  samplesPerSecond: number;
}

export interface Progress {
  update(state: ProgressState): void;
  stop(): void;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

function describe(s: ProgressState): string {
  return `epoch ${s.epoch}/${s.epochs} step ${s.step}/${s.steps} loss ${s.loss.toFixed(4)} ${s.samplesPerSecond.toFixed(1)} samples/s`;
}

/**
 * A terminal gets a bar that redraws in place (cli-progress); anything else (a notebook, a log file)
 * gets a plain line at most every `intervalSeconds` and at the end of each epoch, so that a notebook
 * output stays a few lines long instead of one line per step.
 */
export function createProgress(options: { stream?: NodeJS.WriteStream; intervalSeconds?: number; batchSize: number }): Progress {
  const stream = options.stream ?? process.stderr;
  const secondsLeft = (s: ProgressState) => ((s.steps - s.step) * options.batchSize) / Math.max(s.samplesPerSecond, 1e-9);
  if (stream.isTTY) {
    const bar = new SingleBar({
      stream,
      format: 'epoch {epoch}/{epochs} [{bar}] {value}/{total} loss {loss} | {speed} samples/s | {left} left',
      hideCursor: true,
      clearOnComplete: false,
    });
    let started = false;
    let epoch = -1;
    return {
      update(s) {
        const payload = { epoch: s.epoch, epochs: s.epochs, loss: s.loss.toFixed(4), speed: s.samplesPerSecond.toFixed(1), left: formatSeconds(secondsLeft(s)) };
        if (!started || s.epoch !== epoch) {
          if (started) bar.stop();
          bar.start(s.steps, s.step, payload);
          started = true;
          epoch = s.epoch;
        } else {
          bar.update(s.step, payload);
        }
      },
      stop() { if (started) bar.stop(); },
    };
  }
  const interval = (options.intervalSeconds ?? 15) * 1000;
  let last = 0;
  return {
    update(s) {
      const now = Date.now();
      if (now - last >= interval || s.step === s.steps) {
        last = now;
        stream.write(`${describe(s)}, ${formatSeconds(secondsLeft(s))} left in epoch\n`);
      }
    },
    stop() {},
  };
}
