/**
 * `finetune-lab run NOTEBOOK.ipynb... [--out DIR] [--timeout SECONDS]`: executes notebooks headlessly
 * on the finetune-lab kernel, in the order given, and stops at the first failing one.
 */
import { DEFAULT_CELL_TIMEOUT_S } from '../notebooks/runner.js';
import { number, parseCommand, UsageError } from './args.js';
import { runAndShow } from './status.js';

const DEFAULT_OUT = 'build/notebooks';

export const usage = `Usage: finetune-lab run NOTEBOOK.ipynb... [--out DIR] [--timeout SECONDS]

Executes each notebook's code cells in order on a fresh finetune-lab (tslab) kernel started in the
notebook's directory with this environment (FINETUNE_LAB_* settings reach the notebook), and writes
the executed copy, outputs included, to DIR. Stops at the first failing cell and notebook, printing
the notebook, the cell number, its source and the error. Exit code 0 only if every cell succeeded.

Options:
  --out DIR          where the executed notebooks go (default: ${DEFAULT_OUT})
  --timeout SECONDS  limit for each cell; a cell running longer is interrupted and fails
                     (default: ${DEFAULT_CELL_TIMEOUT_S})
  -h, --help         show this help

Needs the kernel: run \`node kernel-setup/setup.mjs\` once first.`;

/** The kernel runs in its own process group; the runner stops it (process 'exit' hook) on Ctrl-C. */
export function exitOnSignals(command: string): void {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      console.error(`\nfinetune-lab ${command}: ${signal}, stopping the kernel.`);
      process.exit(code);
    });
  }
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand({
    args,
    allowPositionals: true,
    options: {
      out: { type: 'string', default: DEFAULT_OUT },
      timeout: { type: 'string', default: String(DEFAULT_CELL_TIMEOUT_S) },
    },
  });
  if (positionals.length === 0) throw new UsageError('no notebook given');
  const cellTimeoutS = number('timeout', values.timeout, { above: 0 });

  exitOnSignals('run');
  for (const [i, notebook] of positionals.entries()) {
    const result = await runAndShow(notebook, { outDir: values.out, cellTimeoutS });
    if (!result.ok) {
      const skipped = positionals.slice(i + 1);
      if (skipped.length > 0) console.log(`Not run: ${skipped.join(', ')}`);
      return 1;
    }
  }
  return 0;
}
