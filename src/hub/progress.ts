/**
 * Download progress on stderr: a live bar on a terminal, and on anything else (notebooks,
 * CI logs) a compact line every few seconds plus one when the file is done.
 */
import { SingleBar } from 'cli-progress';

export interface Progress {
  update(bytes: number): void;
  finish(): void;
}

const LINE_INTERVAL_MS = 5000;

function amount(bytes: number): string {
  if (bytes < 1e3) return `${Math.round(bytes)} B`;
  return bytes < 1e6 ? `${(bytes / 1e3).toFixed(1)} kB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

/** `label` names the file; `start` is where a resumed download begins; `total` may be unknown. */
export function createProgress(label: string, start: number, total: number | undefined, enabled: boolean): Progress {
  if (!enabled) return { update() {}, finish() {} };
  const began = Date.now();
  const speed = (bytes: number) => `${amount((bytes - start) / Math.max((Date.now() - began) / 1000, 1e-3))}/s`;
  const size = (bytes: number) => `${amount(bytes)}${total === undefined ? '' : ` of ${amount(total)}`}`;

  if (process.stderr.isTTY) {
    const bar = new SingleBar({
      format: `${label} |{bar}| {percentage}% {size} {speed}`,
      stream: process.stderr,
      hideCursor: true,
      barsize: 30,
    });
    bar.start(total ?? 0, start, { size: size(start), speed: '' });
    return {
      update: (bytes) => bar.update(bytes, { size: size(bytes), speed: speed(bytes) }),
      finish: () => bar.stop(),
    };
  }

  let lastLine = began;
  let current = start;
  const line = () => {
    const percent = total ? ` (${Math.floor((100 * current) / total)}%)` : '';
    process.stderr.write(`${label}: ${size(current)}${percent} ${speed(current)}\n`);
  };
  return {
    update(bytes) {
      current = bytes;
      if (Date.now() - lastLine >= LINE_INTERVAL_MS) {
        lastLine = Date.now();
        line();
      }
    },
    finish: line,
  };
}
