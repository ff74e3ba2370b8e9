/**
 * Charts: the plotly library is shipped once per session, every chart carries its own div and
 * data, and the HTML really draws in headless Chromium (also under a RequireJS-style `define`,
 * as in the classic notebook). The bundle has every trace type the course draws.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Browser, chromium } from 'playwright-core';
import { Figure, PlotSession, figureToHtml, plot, plotlyLibraryHtml, saveFigure } from '../src/plots/index.js';
import { readNotebook, text } from '../src/notebooks/notebook.js';
import { CHROMIUM, requireSystem } from '../kernel-setup/system.mjs';

const LIBRARY_BANNER = `plotly.js (cartesian - minified) v${require('plotly.js-cartesian-dist-min/package.json').version}`;

const line: Figure = {
  data: [{ x: [1, 2, 3, 4], y: [0.9, 0.5, 0.35, 0.3], type: 'scatter', mode: 'lines+markers', name: 'loss </script> & "quotes"' }],
  layout: { title: { text: 'Training loss' }, height: 300 },
};
const bars: Figure = {
  data: [{ x: ['cpu', 'wasm', 'webgpu'], y: [0.3, 20, 1.1], type: 'bar' }],
  layout: { title: { text: 'GFLOP/s' } },
};

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

function divIds(html: string): string[] {
  return [...html.matchAll(/<div id="(finetune-lab-plot-[0-9a-f]+)"/g)].map((m) => m[1]);
}

/** Loads the HTML in headless Chromium and returns, for each chart div, the traces plotly drew. */
let browser: Browser;
before(async () => {
  requireSystem('chromium');
  browser = await chromium.launch({ executablePath: CHROMIUM });
});
after(() => browser.close());

async function render(html: string, withRequireJs: boolean): Promise<Record<string, { data: unknown[]; svg: boolean }>> {
  const page = await browser.newPage();
  try {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const amd = withRequireJs ? '<script>window.define = function () { throw new Error("AMD define called"); }; window.define.amd = {};</script>' : '';
    await page.setContent(`<!DOCTYPE html><html><body>${amd}${html}</body></html>`, { waitUntil: 'load' });
    await page.waitForFunction(() => document.querySelectorAll('.finetune-lab-plot .main-svg').length > 0 &&
      [...document.querySelectorAll('.finetune-lab-plot')].every((d) => d.querySelector('.main-svg')), undefined, { timeout: 30_000 });
    assert.deepEqual(errors, []);
    return await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('.finetune-lab-plot')].map((d) => [
      d.id, { data: (d as unknown as { data: { x: unknown; y: unknown; name?: unknown }[] }).data.map(({ x, y, name }) => ({ x, y, name })), svg: !!d.querySelector('.main-svg') },
    ])));
  } finally {
    await page.close();
  }
}

test('a session ships the plotly library once, with its first chart', () => {
  const session = new PlotSession();
  const first = session.html(line);
  const second = session.html(bars);
  assert.equal(count(first, LIBRARY_BANNER), 1);
  assert.equal(count(second, LIBRARY_BANNER), 0);
  assert.ok(second.length < 10_000, `a later chart is small (${second.length} chars)`);
  const ids = [...divIds(first), ...divIds(second)];
  assert.equal(ids.length, 2);
  assert.notEqual(ids[0], ids[1]);
  // Data inside a script must not be able to end it early.
  assert.equal(count(first + second, '</script>'), 3);
});

test('two charts of one session draw in Chromium, each with its own div and data', async () => {
  const session = new PlotSession();
  const html = session.html(line) + session.html(bars);
  for (const withRequireJs of [false, true]) {
    const drawn = await render(html, withRequireJs);
    const ids = divIds(html);
    assert.deepEqual(Object.keys(drawn), ids);
    assert.deepEqual(drawn[ids[0]].data, [{ x: [1, 2, 3, 4], y: [0.9, 0.5, 0.35, 0.3], name: 'loss </script> & "quotes"' }]);
    assert.deepEqual(drawn[ids[1]].data, [{ x: ['cpu', 'wasm', 'webgpu'], y: [0.3, 20, 1.1], name: undefined }]);
  }
});

test('a chart whose script runs before the library waits for it', async () => {
  const session = new PlotSession();
  const withLibrary = session.html(line);
  const later = session.html(bars);
  const drawn = await render(later + withLibrary, false);
  assert.equal(Object.values(drawn).filter((c) => c.svg).length, 2);
});

test('figureToHtml and saveFigure are self-contained', async () => {
  assert.equal(count(figureToHtml(bars), LIBRARY_BANNER), 1);
  assert.equal(count(figureToHtml(bars), LIBRARY_BANNER), 1, 'every standalone fragment carries the library');
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'finetune-lab-plots-')), 'sub', 'chart.html');
  saveFigure(line, file);
  const page = fs.readFileSync(file, 'utf8');
  assert.match(page, /^<!DOCTYPE html>/);
  assert.match(page, /<title>Training loss<\/title>/);
  const drawn = await render(page.replace(/^[\s\S]*<body>|<\/body>[\s\S]*$/g, ''), false);
  assert.equal(Object.keys(drawn).length, 1);
});

test('plot() outside a notebook kernel says what to use instead', () => {
  assert.throws(() => plot(bars), /notebook on the finetune-lab kernel.*saveFigure/);
});

/** `type: "..."` values in the course's chart code that are not trace types: axis, shape and error-bar types. */
const NOT_TRACE_TYPES = new Set(['linear', 'log', 'date', 'category', 'line', 'rect', 'circle', 'constant', 'percent']);

/** Every `type: "..."` in the notebooks' code and in src/plots, with where it was first seen. */
function typesInCourse(): Map<string, string> {
  const ROOT = path.resolve(__dirname, '..');
  const sources: [string, string][] = [];
  for (const file of fs.readdirSync(path.join(ROOT, 'notebooks')).filter((f) => f.endsWith('.ipynb'))) {
    for (const cell of readNotebook(path.join(ROOT, 'notebooks', file)).cells) {
      if (cell.cell_type === 'code') sources.push([`notebooks/${file}`, text(cell.source)]);
    }
  }
  for (const file of fs.readdirSync(path.join(ROOT, 'src', 'plots'))) {
    sources.push([`src/plots/${file}`, fs.readFileSync(path.join(ROOT, 'src', 'plots', file), 'utf8')]);
  }
  const types = new Map<string, string>();
  for (const [where, source] of sources) {
    for (const [, type] of source.matchAll(/\btype:\s*["'`]([a-z0-9]+)["'`]/g)) if (!types.has(type)) types.set(type, where);
  }
  return types;
}

test('the plotly bundle has every trace type the course draws', async () => {
  const page = await browser.newPage();
  try {
    await page.setContent(`<!DOCTYPE html><html><body>${plotlyLibraryHtml()}</body></html>`);
    const traces = new Set(await page.evaluate(() => Object.keys((window as unknown as { Plotly: any }).Plotly.PlotSchema.get().traces)));
    const used = [...typesInCourse()].filter(([type]) => !NOT_TRACE_TYPES.has(type));
    assert.ok(used.length >= 4, `found the course's trace types: ${used.map(([type]) => type)}`);
    for (const [type, where] of used) {
      assert.ok(traces.has(type), `${where} draws a "${type}" trace, which the plotly bundle lacks (it has ${[...traces].join(', ')}); add the type to NOT_TRACE_TYPES if it is not a trace`);
    }
  } finally {
    await page.close();
  }
});
