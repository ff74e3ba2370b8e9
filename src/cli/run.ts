/**
 * `finetune-lab run NOTEBOOK.ipynb... [--out DIR] [--timeout SECONDS]`: executes notebooks headlessly
 * on the finetune-lab kernel, in the order given, and stops at the first failing one.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_CELL_TIMEOUT_S, runNotebook, type NotebookResult, type Progress } from '../notebooks/runner.js';

const DEFAULT_OUT = 'build/notebooks';

const HELP = `Usage: finetune-lab run NOTEBOOK.ipynb... [--out DIR] [--timeout SECONDS]

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

/** One line per notebook: kernel start, then each cell's number and seconds as it finishes. */
export function printProgress(p: Progress): void {
  if (p.phase === 'kernel') process.stdout.write(`${p.notebook}: kernel`);
  else if (p.phase === 'ready') process.stdout.write(` ${p.seconds.toFixed(1)}s, cells`);
  else if (p.seconds === undefined) process.stdout.write(` ${p.cell}/${p.cells}`);
  else process.stdout.write(`:${p.seconds.toFixed(1)}s`);
}

export function report(result: NotebookResult): string {
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
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: 'string', default: DEFAULT_OUT },
      timeout: { type: 'string', default: String(DEFAULT_CELL_TIMEOUT_S) },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length === 0) throw new Error(`No notebook given: finetune-lab run NOTEBOOK.ipynb... (see --help).`);
  const cellTimeoutS = Number(values.timeout);
  if (!(cellTimeoutS > 0)) throw new Error(`--timeout ${values.timeout} is not a positive number of seconds; e.g. --timeout 1200.`);

  exitOnSignals('run');
  for (const [i, notebook] of positionals.entries()) {
    const result = await runNotebook(notebook, { outDir: values.out!, cellTimeoutS, onProgress: printProgress }).catch((err: unknown) => {
      process.stdout.write('\n');
      throw err;
    });
    console.log(report(result));
    if (!result.ok) {
      const skipped = positionals.slice(i + 1);
      if (skipped.length > 0) console.log(`Not run: ${skipped.join(', ')}`);
      return 1;
    }
  }
  return 0;
}
