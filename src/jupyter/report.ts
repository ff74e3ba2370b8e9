/**
 * The course report: executed notebooks as static HTML pages that work from file:// with no
 * network (an index plus one page per notebook: prose, code and outputs, charts interactive).
 * The index records the settings, versions, backend and device, so that a reader knows how the
 * numbers were made and can make them again.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Marked } from 'marked';
import sanitizeHtml from 'sanitize-html';
import type { EnvironmentReport } from '../backend/environment.js';
import { PLOTLY_LIBRARY_FILE, stripPlotlyLibrary } from '../plots/index.js';
import type { Settings } from '../course/settings.js';
import { readNotebook, text, type Cell, type MimeBundle, type Output } from './notebook.js';
import type { NotebookResult } from './runner.js';
import { writeFileAtomic } from '../files/atomic.js';
import { copyDeployFiles, DEPLOY_PAGE, deployPageBody } from './deploy-page.js';

/** A notebook of the run: `result` is missing when it did not run (an earlier one failed). */
export interface ReportNotebook {
  notebook: string;
  result?: NotebookResult;
}

export interface ReportOptions {
  /** Directory of the report: `index.html`, one page per executed notebook, `assets/`. */
  outDir: string;
  settings: Settings;
  environment: EnvironmentReport;
  /** Wall time of the whole run. */
  totalSeconds: number;
  /** When the run started (default: now). */
  date?: Date;
  /** A classifier exported by `exportOnnx` (notebook 08's), for the page that runs it in the browser; `name` says which it is. */
  deployModel?: { dir: string; name: string };
}

export interface Report {
  index: string;
  /** One page per notebook that ran, in order, then the browser page when there is one. */
  pages: string[];
}

/** Where a page finds the plotly library, relative to the report directory. */
export const PLOTLY_ASSET = 'assets/plotly.min.js';

const COURSE = `<p><strong>finetune-lab</strong> is a course on fine-tuning BERT, written in TypeScript and run on
TensorFlow.js. It walks through the whole story of building language-model applications: how the model is pretrained
with self-supervised labels, how text becomes model inputs, and the ways to adapt a pretrained model to a task
(classifying the sentiment of IMDB movie reviews): a classifier on frozen features, full fine-tuning, adapters, LoRA
and prompting, compared side by side, and finally the best of them deployed to ONNX and the browser. Each page below is one notebook of the course, executed from start
to end with its prose, its code and what the code printed and drew.</p>`;

const STYLE = `
body { font: 16px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2330; margin: 0; background: #fafbfc; }
main { max-width: 1000px; margin: 0 auto; padding: 1.5rem 1.5rem 4rem; background: #fff; min-height: 100vh; box-sizing: border-box; }
nav { display: flex; gap: 1.5rem; font-size: 0.9rem; padding-bottom: 0.8rem; border-bottom: 1px solid #e3e6ea; margin-bottom: 1.2rem; }
a { color: #1f5fbf; }
h1 { font-size: 1.8rem; } h2 { font-size: 1.35rem; margin-top: 1.8rem; } h3 { font-size: 1.1rem; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.92rem; }
th, td { border: 1px solid #d9dde3; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f2f4f7; }
code { font: 0.88em/1.45 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
pre { margin: 0; padding: 0.6rem 0.8rem; overflow-x: auto; white-space: pre-wrap; word-break: break-word; font: 0.85rem/1.45 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
.cell { margin: 0.9rem 0; }
.code .source { background: #f5f7fa; border: 1px solid #e3e6ea; border-radius: 4px; position: relative; }
.prompt { color: #8a93a3; font-size: 0.75rem; font-family: ui-monospace, monospace; margin-bottom: 0.15rem; }
.outputs { margin-top: 0.3rem; border-left: 3px solid #e3e6ea; padding-left: 0.5rem; overflow-x: auto; }
.stderr { background: #fff6e5; }
.error, .failure { background: #fdecec; color: #8a1c1c; border-radius: 4px; }
.cell.failed .source { border-color: #d33; }
.cell.not-run { opacity: 0.55; }
.banner { padding: 0.7rem 1rem; border-radius: 4px; margin: 1rem 0; }
.banner.failed { background: #fdecec; border: 1px solid #e8a3a3; }
.status-ok { color: #1a7f37; font-weight: 600; } .status-failed { color: #c62828; font-weight: 600; } .status-not-run { color: #8a93a3; }
img { max-width: 100%; }
`;

const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

function escape(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function page(title: string, body: string, withPlotly: boolean): string {
  const library = withPlotly ? `\n<script src="${PLOTLY_ASSET}"></script>` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<style>${STYLE}</style>${library}
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

/** The page name of a notebook: `02-tokenization.ipynb` -> `02-tokenization.html`. */
export function pageName(notebook: string): string {
  return path.basename(notebook, '.ipynb') + '.html';
}

/** The notebook's first markdown heading, else its file name. */
function notebookTitle(cells: readonly Cell[], notebook: string): string {
  for (const cell of cells) {
    if (cell.cell_type !== 'markdown') continue;
    const heading = /^#{1,6}\s+(.+)$/m.exec(text(cell.source));
    if (heading) return heading[1].trim();
  }
  return path.basename(notebook, '.ipynb');
}

const marked = new Marked({ gfm: true, async: false });

/**
 * Markdown as HTML without what could run: scripts, event handlers, `javascript:` links, iframes,
 * forms and styles are dropped, as Jupyter sanitises the markdown of notebooks it does not trust.
 * (Code outputs do run: that is how their charts draw.)
 */
function markdown(source: string): string {
  return sanitizeHtml(marked.parse(source) as string, {
    allowedTags: [...sanitizeHtml.defaults.allowedTags, 'img', 'del', 'details', 'summary', 'sup', 'sub', 'input'],
    allowedAttributes: {
      ...sanitizeHtml.defaults.allowedAttributes,
      img: ['src', 'alt', 'title', 'width', 'height'],
      code: ['class'], th: ['align'], td: ['align'], input: ['type', 'checked', 'disabled'], '*': ['id'],
    },
    allowedSchemesByTag: { img: ['http', 'https', 'data'] },
  });
}

/** How one output shows: the richest representation a static page can show. */
function renderOutput(output: Output): { html: string; chart: boolean } {
  if (output.output_type === 'stream') {
    return { html: `<pre class="stream ${output.name}">${escape(text(output.text).replace(ANSI, ''))}</pre>`, chart: false };
  }
  if (output.output_type === 'error') {
    const trace = output.traceback.length ? output.traceback.join('\n') : `${output.ename}: ${output.evalue}`;
    return { html: `<pre class="error">${escape(trace.replace(ANSI, ''))}</pre>`, chart: false };
  }
  return renderBundle(output.data);
}

function renderBundle(data: MimeBundle): { html: string; chart: boolean } {
  const get = (mime: string): string | undefined => {
    const value = data[mime];
    return value === undefined ? undefined : text(value as string | string[]);
  };
  const html = get('text/html');
  if (html !== undefined) {
    const { html: withoutLibrary } = stripPlotlyLibrary(html);
    return { html: `<div class="html-output">${withoutLibrary}</div>`, chart: withoutLibrary.includes('Plotly.newPlot') };
  }
  const svg = get('image/svg+xml');
  if (svg !== undefined) return { html: `<div class="svg-output">${svg}</div>`, chart: false };
  for (const mime of ['image/png', 'image/jpeg', 'image/gif']) {
    const image = get(mime);
    if (image !== undefined) return { html: `<img alt="" src="data:${mime};base64,${image.replace(/\s/g, '')}">`, chart: false };
  }
  const md = get('text/markdown');
  if (md !== undefined) return { html: markdown(md), chart: false };
  const plain = get('text/plain');
  if (plain !== undefined) return { html: `<pre>${escape(plain.replace(ANSI, ''))}</pre>`, chart: false };
  return { html: '', chart: false };
}

function renderNotebookPage(entry: ReportNotebook & { result: NotebookResult }, neighbours: { previous?: ReportNotebook; next?: ReportNotebook }): { title: string; html: string } {
  const { result } = entry;
  const cells = readNotebook(result.output).cells;
  const title = notebookTitle(cells, entry.notebook);
  const failedAt = result.failure?.cell;
  let charts = false;
  const rendered = cells.map((cell, i) => {
    const number = i + 1;
    const id = `cell-${number}`;
    const source = text(cell.source);
    if (cell.cell_type === 'markdown') return `<div class="cell markdown" id="${id}">${markdown(source)}</div>`;
    if (cell.cell_type !== 'code') return `<div class="cell raw" id="${id}"><pre>${escape(source)}</pre></div>`;
    const outputs = (cell.outputs ?? []).map(renderOutput);
    charts ||= outputs.some((o) => o.chart);
    const state = failedAt === undefined ? '' : number === failedAt ? ' failed' : number > failedAt ? ' not-run' : '';
    let extra = '';
    if (number === failedAt) {
      // Kernels such as tslab report errors only on stderr, already shown; otherwise say it here.
      const error = result.failure!.error.trim();
      const shown = (cell.outputs ?? []).some((o) => o.output_type === 'error' || (o.output_type === 'stream' && text(o.text).includes(error)));
      extra = `<pre class="failure">This cell failed${shown ? '.' : `:\n${escape(error)}`}</pre>`;
    } else if (state === ' not-run') {
      extra = '<div class="prompt">not run: an earlier cell failed</div>';
    }
    const count = cell.execution_count ?? ' ';
    const body = outputs.map((o) => o.html).join('\n') + extra;
    return `<div class="cell code${state}" id="${id}"><div class="prompt">In [${count}]:</div>` +
      `<div class="source"><pre><code class="language-typescript">${escape(source)}</code></pre></div>` +
      (body ? `<div class="outputs">${body}</div>` : '') + `</div>`;
  });
  const link = (label: string, other?: ReportNotebook) =>
    other?.result ? `<a href="${pageName(other.notebook)}">${label}</a>` : '';
  const nav = `<nav><a href="index.html">Report index</a>${link('← previous notebook', neighbours.previous)}${link('next notebook →', neighbours.next)}</nav>`;
  const banner = result.failure
    ? `<div class="banner failed"><strong>This notebook failed</strong> at <a href="#cell-${failedAt}">cell ${failedAt}</a> of ${result.failure.cells}; the cells after it did not run.</div>`
    : '';
  const footer = `<p class="prompt">${escape(path.basename(entry.notebook))}: ${result.ok ? 'ran' : 'failed'} in ${result.seconds.toFixed(1)} s.</p>`;
  return { title, html: page(title, `${nav}\n${banner}\n${rendered.join('\n')}\n${footer}`, charts) };
}

function table(rows: [string, string][], header?: [string, string]): string {
  const head = header ? `<tr><th>${escape(header[0])}</th><th>${escape(header[1])}</th></tr>` : '';
  return `<table>${head}${rows.map(([k, v]) => `<tr><th>${escape(k)}</th><td>${escape(v)}</td></tr>`).join('')}</table>`;
}

function formatSeconds(seconds: number): string {
  return seconds < 60 ? `${seconds.toFixed(1)} s` : `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

function indexPage(notebooks: ReportNotebook[], titles: Map<string, string>, options: ReportOptions): string {
  const { settings, environment: env, totalSeconds } = options;
  const failed = notebooks.filter((n) => n.result && !n.result.ok);
  const rows = notebooks.map((n, i) => {
    const name = path.basename(n.notebook);
    const title = titles.get(n.notebook) ?? path.basename(n.notebook, '.ipynb');
    const cell = n.result ? `<a href="${pageName(n.notebook)}">${escape(title)}</a>` : escape(title);
    const status = !n.result ? '<span class="status-not-run">not run</span>'
      : n.result.ok ? '<span class="status-ok">ok</span>'
      : `<span class="status-failed">failed at cell ${n.result.failure!.cell}</span>`;
    const time = n.result ? formatSeconds(n.result.seconds) : '';
    return `<tr><td>${i + 1}</td><td>${cell}<br><code>${escape(name)}</code></td><td>${status}</td><td>${time}</td></tr>`;
  });
  const outcome = failed.length
    ? `<div class="banner failed"><strong>The run failed</strong> in ${failed.map((n) => escape(path.basename(n.notebook))).join(', ')}; the notebooks after it did not run.</div>`
    : '';
  const settingRows = Object.entries(settings).map(([k, v]) => [k, v === undefined ? '(automatic / each method\'s own)' : String(v)] as [string, string]);
  const environmentRows: [string, string][] = [
    ['backend', env.selected.name],
    ['device', env.selected.device],
    ['why this backend', env.selected.reason],
    ['finetune-lab', env.finetuneLab],
    ['Node.js', env.node],
    ['platform', env.platform],
    ['CPU', env.cpu],
  ];
  const packageRows = Object.entries(env.packages).map(([k, v]) => [k, v ?? 'not installed'] as [string, string]);
  const backendRows = Object.entries(env.backends).map(([name, p]) =>
    [name, p.available ? `available${p.device ? ` (${p.device})` : ''}${p.software ? ', software GPU' : ''}` : `unavailable${p.reason ? `: ${p.reason}` : ''}`] as [string, string]);
  const date = (options.date ?? new Date()).toISOString();
  const body = `<h1>finetune-lab: fine-tuning BERT in TypeScript</h1>
${COURSE}
${outcome}
<h2>Notebooks</h2>
<p>Run on ${escape(date)} with the <code>${escape(settings.profile)}</code> profile; ${notebooks.length} notebooks in ${formatSeconds(totalSeconds)}.</p>
<table><tr><th>#</th><th>notebook</th><th>status</th><th>run time</th></tr>${rows.join('')}</table>
${options.deployModel ? `<p><a href="${DEPLOY_PAGE}">Try the fine-tuned model in your browser</a>: ${escape(options.deployModel.name)}, exported by notebook 08, classifies the reviews you type (served pages only, see there).</p>` : ''}
<h2>How these numbers were made</h2>
<p>The same settings on the same versions and backend give the same numbers: every split, shuffle, initialisation and
dropout mask is drawn from the seed below. To run it again: <code>FINETUNE_LAB_PROFILE=${escape(settings.profile)} npm run tutorial</code>
(overrides such as <code>FINETUNE_LAB_EPOCHS</code> are read by <code>loadSettings()</code> in <code>src/course/settings.ts</code>).</p>
<h3>Settings</h3>
${table(settingRows, ['setting', 'value'])}
<h3>Backend and machine</h3>
${table(environmentRows)}
<h3>Backends available</h3>
${table(backendRows)}
<h3>Package versions</h3>
${table(packageRows)}`;
  return page('finetune-lab report', body, false);
}

/**
 * Writes the report of a run to `options.outDir`: `index.html`, one page per notebook that ran
 * (from its executed copy) and the plotly library once, in `assets/`, for the pages with charts;
 * with `deployModel`, the page that runs it in the browser, its files and the model.
 */
export function writeReport(notebooks: ReportNotebook[], options: ReportOptions): Report {
  fs.mkdirSync(path.join(options.outDir, path.dirname(PLOTLY_ASSET)), { recursive: true });
  writeFileAtomic(path.join(options.outDir, PLOTLY_ASSET), fs.readFileSync(PLOTLY_LIBRARY_FILE));
  const titles = new Map<string, string>();
  const pages: string[] = [];
  notebooks.forEach((entry, i) => {
    const { result } = entry;
    if (!result) {
      titles.set(entry.notebook, notebookTitle(readNotebook(entry.notebook).cells, entry.notebook));
      return;
    }
    const { title, html } = renderNotebookPage({ ...entry, result }, { previous: notebooks[i - 1], next: notebooks[i + 1] });
    titles.set(entry.notebook, title);
    const file = path.join(options.outDir, pageName(entry.notebook));
    writeFileAtomic(file, html);
    pages.push(file);
  });
  if (options.deployModel) {
    copyDeployFiles(options.outDir, options.deployModel.dir);
    const file = path.join(options.outDir, DEPLOY_PAGE);
    const nav = '<nav><a href="index.html">Report index</a></nav>';
    writeFileAtomic(file, page('Try the fine-tuned model', `${nav}\n${deployPageBody(escape(options.deployModel.name))}`, false));
    pages.push(file);
  }
  const index = path.join(options.outDir, 'index.html');
  writeFileAtomic(index, indexPage(notebooks, titles, options));
  return { index, pages };
}
