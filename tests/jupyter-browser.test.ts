// Jupyter the way a learner uses it: the server started the `npm start` way, its own web page (the
// classic Notebook, Debian 12's) in headless Chromium. A course notebook runs all its cells there
// (Cell > Run All) without an error and draws its charts. A notebook executed by `finetune-lab run`
// opens trusted, its charts drawn without running anything; a copy whose content changed after
// signing opens untrusted, with none drawn (the signature is what makes the difference).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Browser, chromium, type Page } from 'playwright-core';
import { CHROMIUM, requireSystem } from '../kernel-setup/system.mjs';
import type { Notebook } from '../src/jupyter/notebook.js';
import { ROOT, startJupyter, type JupyterServer } from './helpers/jupyter-server.js';

const COURSE_NOTEBOOK = 'notebooks/00-environment.ipynb';
const OUT = path.join(ROOT, 'build', 'jupyter-browser-test');

let jupyter: JupyterServer;
let browser: Browser;

before(async () => {
  requireSystem('chromium');
  // Rooted at the project, not notebooks/, so that the page can open build/ too; kernels still
  // start in their notebook's directory, as with `npm start`.
  jupyter = await startJupyter([`--notebook-dir=${ROOT}`]);
  assert.match(jupyter.log(), /^Starting Jupyter Notebook/m, "these tests drive the classic Notebook's page, but npm start found a JupyterLab here");
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
});

// Jupyter keeps its own checkpoints beside a notebook it opens; the course folder is left as it was.
const checkpoints = path.join(ROOT, 'notebooks', '.ipynb_checkpoints');
const hadCheckpoints = fs.existsSync(checkpoints);

after(async () => {
  await browser?.close();
  await jupyter?.stop();
  if (!hadCheckpoints) fs.rmSync(checkpoints, { recursive: true, force: true });
});

interface Shown {
  trusted: string;
  prompts: string[];
  errors: number;
  stderr: number;
  charts: number;
  drawn: number;
  pageErrors: string[];
}

/** Opens `file` (relative to the project) in the Notebook's page and waits for its kernel. */
async function open(file: string): Promise<{ page: Page; pageErrors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`http://127.0.0.1:${jupyter.port}/notebooks/${file}?token=${jupyter.token}`);
  await page.waitForSelector('#kernel_indicator_icon.kernel_idle_icon', { timeout: 60_000 });
  return { page, pageErrors };
}

/** What the page shows: the trust indicator, each code cell's prompt, error and stderr outputs, and charts. */
function shown(page: Page, pageErrors: string[]): Promise<Shown> {
  return page.evaluate((pageErrors) => ({
    trusted: document.querySelector('#notification_trusted')?.textContent?.trim() ?? '',
    prompts: [...document.querySelectorAll('.code_cell .input_prompt')].map((p) => p.textContent!.replace(/\s+/g, ' ').trim()),
    errors: document.querySelectorAll('.output_error').length,
    stderr: document.querySelectorAll('.output_stderr').length,
    charts: document.querySelectorAll('.finetune-lab-plot').length,
    drawn: [...document.querySelectorAll('.finetune-lab-plot')].filter((d) => d.querySelector('.main-svg')).length,
    pageErrors,
  }), pageErrors);
}

function codeCells(file: string): number {
  const notebook = JSON.parse(fs.readFileSync(file, 'utf8')) as Notebook;
  return notebook.cells.filter((c) => c.cell_type === 'code' && [c.source].flat().join('').trim() !== '').length;
}

test('a course notebook runs all its cells in the Notebook page (Cell > Run All): every cell finishes, no error, its charts drawn', async () => {
  const file = path.join(ROOT, COURSE_NOTEBOOK);
  const original = fs.readFileSync(file, 'utf8');
  const cells = codeCells(file);
  const { page, pageErrors } = await open(COURSE_NOTEBOOK);
  try {
    // Autosave would write this session's outputs into the course's own notebook.
    await page.evaluate(() => (window as any).Jupyter.notebook.set_autosave_interval(0));
    await page.click('#celllink');
    await page.click('#run_all_cells');
    await page.waitForFunction(
      (cells) => [...document.querySelectorAll('.code_cell .input_prompt')].filter((p) => /In\s*\[\d+\]/.test(p.textContent!)).length >= cells
        && document.querySelector('#kernel_indicator_icon.kernel_idle_icon') !== null,
      cells,
      { timeout: 300_000, polling: 500 },
    );
    // The charts draw once plotly has run: give the last one a moment.
    await page.waitForFunction(() => [...document.querySelectorAll('.finetune-lab-plot')].every((d) => d.querySelector('.main-svg')), undefined, { timeout: 30_000 }).catch(() => undefined);
    const s = await shown(page, pageErrors);
    assert.equal(s.prompts.filter((p) => /In \[\d+\]/.test(p)).length, cells, `every code cell ran: ${JSON.stringify(s.prompts)}`);
    assert.equal(s.errors, 0, 'no error output');
    assert.equal(s.stderr, 0, 'nothing on stderr');
    assert.deepEqual(s.pageErrors, []);
    assert.ok(s.charts >= 1, `${s.charts} charts`);
    assert.equal(s.drawn, s.charts, `${s.drawn} of ${s.charts} charts drawn`);
  } finally {
    await page.close();
  }
  assert.equal(fs.readFileSync(file, 'utf8'), original, 'the course notebook itself is unchanged');
});

test("a notebook executed by finetune-lab run opens trusted in Jupyter with its charts drawn; an unsigned copy draws none", async () => {
  fs.rmSync(OUT, { recursive: true, force: true });
  // The runner signs with the same Jupyter data directory as the server's, as on a user's machine.
  const run = spawnSync(process.execPath, ['dist/cli/main.js', 'run', COURSE_NOTEBOOK, '--out', OUT], {
    cwd: ROOT,
    env: { ...process.env, FINETUNE_LAB_PROFILE: 'ci', JUPYTER_DATA_DIR: jupyter.dataDir },
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.doesNotMatch(run.stdout, /Not signed as trusted/);
  const executed = path.join(OUT, path.basename(COURSE_NOTEBOOK));
  const notebook = JSON.parse(fs.readFileSync(executed, 'utf8')) as Notebook;
  const charts = notebook.cells.flatMap((c) => c.outputs ?? []).filter((o) => 'data' in o && String([o.data['text/html'] ?? ''].flat().join('')).includes('finetune-lab-plot')).length;
  assert.ok(charts >= 1, `${charts} chart outputs in the executed notebook`);
  const unsigned = path.join(OUT, 'unsigned-copy.ipynb');
  fs.writeFileSync(unsigned, JSON.stringify({ ...notebook, metadata: { ...notebook.metadata, edited: 'after signing' } }, null, 1));

  const relative = (f: string) => path.relative(ROOT, f);
  for (const [file, trusted] of [[executed, true], [unsigned, false]] as const) {
    const { page, pageErrors } = await open(relative(file));
    try {
      if (trusted) await page.waitForFunction(() => [...document.querySelectorAll('.finetune-lab-plot')].every((d) => d.querySelector('.main-svg')) && document.querySelector('.finetune-lab-plot'), undefined, { timeout: 60_000 }).catch(() => undefined);
      const s = await shown(page, pageErrors);
      assert.equal(s.trusted, trusted ? 'Trusted' : 'Not Trusted', relative(file));
      assert.equal(s.prompts.filter((p) => /In \[\d+\]/.test(p)).length, codeCells(file), `${relative(file)} shows its executed cells`);
      assert.equal(s.drawn, trusted ? charts : 0, `${relative(file)}: ${s.drawn} of ${charts} charts drawn`);
      assert.deepEqual(s.pageErrors, []);
    } finally {
      await page.close();
    }
  }
});
