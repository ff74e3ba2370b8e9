/**
 * `finetune-lab tutorial [NOTEBOOK...] [--profile NAME] [--out DIR]`: the whole course in one
 * command. Executes every notebook in order under one settings profile, then exports the
 * report (an index and one page per notebook) that a browser shows offline.
 */
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeEnvironment } from '../backend/environment.js';
import { writeReport, type ReportNotebook } from '../jupyter/report.js';
import { DEFAULT_CELL_TIMEOUT_S } from '../jupyter/runner.js';
import { backendOptions, ENV_PREFIX, loadSettings, PROFILE_NAMES } from '../course/settings.js';
import { bestRun, DEPLOY_NOTEBOOK } from '../course/deploy.js';
import { DEPLOY_DIR } from '../course/paths.js';
import { choice, number, parseCommand } from './args.js';
import { exitOnSignals } from './run.js';
import { runAndShow } from './status.js';

const DEFAULTS = { out: 'report', executed: 'build/notebooks', notebooks: 'notebooks' };

export const usage = `Usage: finetune-lab tutorial [NOTEBOOK.ipynb...] [--profile NAME] [--out DIR] [--executed DIR] [--timeout SECONDS]

Executes every notebook of the course (${DEFAULTS.notebooks}/*.ipynb in file-name order, or the notebooks
given) on the finetune-lab kernel with one settings profile, writes the executed copies, and exports
the report: DIR/index.html (settings, versions, backend and device; each notebook's status and run
time) and one page per notebook, with interactive charts that work offline from file://.

A failing notebook stops the run: the report is still written, with the failure marked and the
notebooks after it listed as not run, and the exit code is 1.

Options:
  --profile NAME     settings profile: ci, default or article (default: \$${ENV_PREFIX}PROFILE, else default);
                     single settings can still be overridden, e.g. ${ENV_PREFIX}EPOCHS=1
  --out DIR          where the report goes (default: ${DEFAULTS.out})
  --executed DIR     where the executed notebooks go (default: ${DEFAULTS.executed})
  --timeout SECONDS  limit for each cell (default: ${DEFAULT_CELL_TIMEOUT_S})
  -h, --help         show this help

Needs the kernel: run \`node kernel-setup/setup.mjs\` once first (\`npm run tutorial\` does).`;

function courseNotebooks(): string[] {
  let files: string[];
  try {
    files = readdirSync(DEFAULTS.notebooks);
  } catch {
    throw new Error(`No ${DEFAULTS.notebooks}/ folder in ${process.cwd()}: run the tutorial from the project root, or name the notebooks to run.`);
  }
  const notebooks = files.filter((f) => f.endsWith('.ipynb')).sort().map((f) => path.join(DEFAULTS.notebooks, f));
  if (notebooks.length === 0) throw new Error(`${DEFAULTS.notebooks}/ holds no .ipynb notebooks.`);
  return notebooks;
}

/** The export notebook 08 made in this run, for the report's browser page, named after the run it shipped. */
function deployedModel(entries: ReportNotebook[], profile: string): { dir: string; name: string } | undefined {
  if (!entries.some((e) => path.basename(e.notebook) === DEPLOY_NOTEBOOK && e.result?.ok)) return undefined;
  const best = bestRun(profile);
  return { dir: DEPLOY_DIR, name: `${best.method} (test accuracy ${(100 * best.testAccuracy).toFixed(1)}%)` };
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand({
    args,
    allowPositionals: true,
    options: {
      profile: { type: 'string' },
      out: { type: 'string', default: DEFAULTS.out },
      executed: { type: 'string', default: DEFAULTS.executed },
      timeout: { type: 'string', default: String(DEFAULT_CELL_TIMEOUT_S) },
    },
  });
  const cellTimeoutS = number('timeout', values.timeout, { above: 0 });
  // The kernels inherit this process's environment, so every notebook sees the same profile.
  process.env[ENV_PREFIX + 'PROFILE'] = choice('profile', values.profile, PROFILE_NAMES) ?? process.env[ENV_PREFIX + 'PROFILE'] ?? 'default';
  const settings = loadSettings();
  const notebooks = positionals.length > 0 ? positionals : courseNotebooks();

  exitOnSignals('tutorial');
  const started = Date.now();
  const date = new Date(started);
  console.log(`finetune-lab tutorial: ${notebooks.length} notebooks, profile ${settings.profile}`);
  const entries: ReportNotebook[] = [];
  let failed = false;
  for (const notebook of notebooks) {
    if (failed) {
      entries.push({ notebook });
      continue;
    }
    const result = await runAndShow(notebook, { outDir: values.executed, cellTimeoutS });
    entries.push({ notebook, result });
    failed = !result.ok;
  }
  const totalSeconds = (Date.now() - started) / 1000;
  const environment = await describeEnvironment(backendOptions(settings));
  const { index, pages } = writeReport(entries, { outDir: values.out!, settings, environment, totalSeconds, date, deployModel: deployedModel(entries, settings.profile) });
  const notRun = entries.filter((e) => !e.result).map((e) => e.notebook);
  if (notRun.length > 0) console.log(`Not run: ${notRun.join(', ')}`);
  const minutes = `${Math.floor(totalSeconds / 60)} min ${Math.round(totalSeconds % 60)} s`;
  console.log(`${failed ? 'The tutorial FAILED' : 'The tutorial ran'} in ${minutes} (${totalSeconds.toFixed(1)} s).`);
  console.log(`Report (${pages.length + 1} pages): ${pathToFileURL(path.resolve(index)).href}`);
  return failed ? 1 : 0;
}
