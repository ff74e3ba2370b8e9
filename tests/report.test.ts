/**
 * The tutorial command and its report, opened in headless Chromium with the network off: course
 * notebooks under the ci profile, and fixture notebooks with charts, an image, a failure
 * and a notebook left unrun. Every page loads from file:// without a JavaScript error and without
 * asking the network for anything, every chart draws its SVG, and the comparison page is a real
 * picture (its screenshot is kept in build/report-test/ for a human to look at). Also: figures
 * saved as static images.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Browser, chromium } from 'playwright-core';
import { PlotSession, saveFigureImage, stripPlotlyLibrary, type Figure } from '../src/plots/index.js';
import { PLOTLY_ASSET } from '../src/notebooks/report.js';
import { CHROMIUM, requireSystem } from '../kernel-setup/system.mjs';

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(ROOT, 'build', 'report-test');
const LIBRARY_BANNER = `plotly.js (cartesian - minified) v${require('plotly.js-cartesian-dist-min/package.json').version}`;
/**
 * The course notebooks that need no training (tests/notebooks.test.ts runs them all). The comparison
 * reads what the method notebooks recorded for the ci profile: after notebooks.test.ts that is all
 * of them; run alone it shows the baseline and says which results are missing.
 */
const COURSE = ['00-environment', '02-tokenization', '07-comparison'].map((name) => path.join('notebooks', `${name}.ipynb`));
const FIXTURES = ['charts.ipynb', 'throws.ipynb', 'good.ipynb'].map((f) => path.join('tests', 'notebooks', f));

interface Run { code: number | null; output: string; report: string }

function tutorial(name: string, notebooks: string[]): Promise<Run> {
  const report = path.join(OUT, name, 'report');
  fs.rmSync(path.join(OUT, name), { recursive: true, force: true });
  const args = ['dist/cli/main.js', 'tutorial', '--profile', 'ci', '--out', report, '--executed', path.join(OUT, name, 'notebooks'), ...notebooks];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, FINETUNE_LAB_PROFILE: 'default' } });
    let output = '';
    child.stdout.on('data', (c) => { output += c; });
    child.stderr.on('data', (c) => { output += c; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output, report }));
  });
}

let browser: Browser;
let course: Run;
let fixtures: Run;

before(async () => {
  execFileSync(process.execPath, ['kernel-setup/setup.mjs', '--for', 'tests'], { cwd: ROOT, stdio: 'inherit' });
  requireSystem('chromium');
  // Whatever a reader's browser may do on its own, the pages must not need the network.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  fixtures = await tutorial('fixtures', FIXTURES);
  course = await tutorial('course', COURSE);
});
after(() => browser?.close());

interface Loaded {
  errors: string[];
  requests: string[];
  charts: number;
  drawn: number;
}

/** Opens a report page from file:// with every other request blocked, and waits for its charts. */
async function open(file: string, screenshot?: string): Promise<Loaded> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  try {
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
      requests.push(url);
      return route.abort();
    });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const charts = await page.locator('.finetune-lab-plot').count();
    if (charts > 0) {
      await page.waitForFunction(() => [...document.querySelectorAll('.finetune-lab-plot')].every((d) => d.querySelector('.main-svg')), undefined, { timeout: 60_000 })
        .catch(() => undefined);
    }
    const drawn = await page.locator('.finetune-lab-plot.js-plotly-plot:has(.main-svg)').count();
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
    return { errors, requests, charts, drawn };
  } finally {
    await page.close();
  }
}

/** Width, height, number of distinct colours and share of pixels that are not (near) white, computed by Chromium. */
async function pixels(png: Buffer): Promise<{ width: number; height: number; colours: number; inked: number }> {
  const page = await browser.newPage();
  try {
    return await page.evaluate(async (data) => {
      const image = new Image();
      image.src = `data:image/png;base64,${data}`;
      await image.decode();
      const canvas = document.createElement('canvas');
      [canvas.width, canvas.height] = [image.width, image.height];
      const context = canvas.getContext('2d')!;
      context.drawImage(image, 0, 0);
      const rgba = context.getImageData(0, 0, image.width, image.height).data;
      const colours = new Set<number>();
      let inked = 0;
      for (let i = 0; i < rgba.length; i += 4) {
        colours.add((rgba[i] << 16) | (rgba[i + 1] << 8) | rgba[i + 2]);
        if (rgba[i] < 235 || rgba[i + 1] < 235 || rgba[i + 2] < 235) inked++;
      }
      return { width: image.width, height: image.height, colours: colours.size, inked: inked / (rgba.length / 4) };
    }, png.toString('base64'));
  } finally {
    await page.close();
  }
}

function pagesOf(report: string): string[] {
  return fs.readdirSync(report).filter((f) => f.endsWith('.html')).map((f) => path.join(report, f));
}

test('the tutorial runs the course notebooks under the ci profile and says where the report is', () => {
  assert.equal(course.code, 0, course.output);
  assert.match(course.output, /profile ci/);
  assert.match(course.output, /The tutorial ran in \d+ min \d+ s/);
  // No third-party noise: the index says which backend ran and why.
  assert.doesNotMatch(course.output, /^Warning: /m, 'a Dawn warning in the tutorial output');
  assert.doesNotMatch(course.output, /Hi, looks like you are running TensorFlow\.js|Platform \w+ has already been set/, 'a tfjs banner in the tutorial output');
  assert.ok(course.output.includes(pathToFileURL(path.join(course.report, 'index.html')).href), course.output);
  const index = fs.readFileSync(path.join(course.report, 'index.html'), 'utf8');
  for (const notebook of COURSE) {
    const page = path.basename(notebook, '.ipynb') + '.html';
    assert.ok(fs.existsSync(path.join(course.report, page)), `${page} missing`);
    assert.ok(index.includes(`href="${page}"`), `index does not link ${page}`);
  }
  assert.equal(index.split('class="status-ok"').length - 1, COURSE.length);
  // The --profile flag wins over the environment, and the index records it with the settings and the backend.
  assert.match(index, /<th>profile<\/th><td>ci<\/td>/);
  assert.match(index, /<th>backend<\/th><td>(cpu|wasm|webgpu|tensorflow)<\/td>/);
  assert.match(index, /<th>@tensorflow\/tfjs<\/th><td>4\.22\.0<\/td>/);
});

test('a failing notebook: exit 1, the report still written, the failure and the unrun notebook marked', () => {
  assert.equal(fixtures.code, 1, fixtures.output);
  assert.match(fixtures.output, /The tutorial FAILED/);
  assert.match(fixtures.output, /Not run: tests\/notebooks\/good\.ipynb/);
  const index = fs.readFileSync(path.join(fixtures.report, 'index.html'), 'utf8');
  assert.match(index, /status-failed">failed at cell 2</);
  assert.match(index, /status-not-run">not run</);
  assert.ok(!fs.existsSync(path.join(fixtures.report, 'good.html')), 'a notebook that did not run has no page');
  const failed = fs.readFileSync(path.join(fixtures.report, 'throws.html'), 'utf8');
  assert.match(failed, /This notebook failed<\/strong> at <a href="#cell-2">cell 2<\/a>/);
  assert.match(failed, /class="cell code failed" id="cell-2"/);
  assert.match(failed, /the fixture exploded on purpose/);
  assert.match(failed, /class="cell code not-run" id="cell-3"/);
});

test('a page renders prose, code and every kind of output, with the plotly library once, as a local file', () => {
  const html = fs.readFileSync(path.join(fixtures.report, 'charts.html'), 'utf8');
  assert.match(html, /<h1>Charts fixture<\/h1>/);
  assert.match(html, /<strong>two charts<\/strong>/);
  assert.match(html, /<table>\s*<thead>/);
  assert.match(html, /plot\(\{ data: \[\{ type: &quot;bar&quot;/);
  assert.match(html, /after the second chart &lt;b&gt;not bold&lt;\/b&gt;/, 'stream text is escaped');
  assert.match(html, /<img alt="" src="data:image\/png;base64,iVBORw0KGgo/);
  assert.match(html, /<p id="fixture-html">an <em>HTML<\/em> output<\/p>/);
  assert.equal(html.split(LIBRARY_BANNER).length - 1, 0, 'the inlined library was stripped from the chart output');
  assert.equal(html.split(`<script src="${PLOTLY_ASSET}"></script>`).length - 1, 1);
  assert.equal(html.split('Plotly.newPlot(').length - 1, 2);
  const asset = fs.readFileSync(path.join(fixtures.report, PLOTLY_ASSET));
  assert.ok(asset.equals(fs.readFileSync(require.resolve('plotly.js-cartesian-dist-min'))));
  // The executed copy itself still carries the library in its first chart, for Jupyter.
  const executed = fs.readFileSync(path.join(OUT, 'fixtures', 'notebooks', 'charts.ipynb'), 'utf8');
  assert.equal(executed.split(LIBRARY_BANNER).length - 1, 1);
  const index = fs.readFileSync(path.join(fixtures.report, 'index.html'), 'utf8');
  assert.ok(!index.includes('<script'), 'the index needs no script');
});

test('every page of both reports loads offline in Chromium without errors, and every chart draws', async () => {
  let total = 0;
  for (const report of [fixtures.report, course.report]) {
    for (const file of pagesOf(report)) {
      const loaded = await open(file);
      const name = path.relative(OUT, file);
      assert.deepEqual(loaded.requests, [], `${name} asked the network`);
      assert.deepEqual(loaded.errors, [], `${name} had JavaScript errors`);
      const source = fs.readFileSync(file, 'utf8');
      assert.equal(loaded.charts, source.split('Plotly.newPlot(').length - 1, `${name}: a chart div per chart`);
      assert.equal(loaded.drawn, loaded.charts, `${name}: ${loaded.drawn} of ${loaded.charts} charts drew their SVG`);
      total += loaded.charts;
    }
  }
  assert.ok(total >= 2, `${total} charts in all`);
});

test('the comparison page is a real picture (screenshot in build/report-test/comparison.png)', async () => {
  const comparison = pagesOf(course.report).find((f) => path.basename(f).startsWith('07-'));
  assert.ok(comparison, 'no 07 comparison page in the course report');
  const shot = path.join(OUT, 'comparison.png');
  const loaded = await open(comparison, shot);
  assert.ok(loaded.charts >= 3, `the comparison page has ${loaded.charts} charts`);
  assert.equal(loaded.drawn, loaded.charts);
  const { width, height, colours, inked } = await pixels(fs.readFileSync(shot));
  assert.equal(width, 1200);
  assert.ok(height > 2000, `a full page, ${height} px tall`);
  assert.ok(colours > 200, `${colours} distinct colours`);
  assert.ok(inked > 0.05, `${(inked * 100).toFixed(1)}% of the pixels are not white`);
});

const bars: Figure = {
  data: [{ type: 'bar', x: ['frozen', 'full', 'lora'], y: [0.7, 0.85, 0.83], marker: { color: '#1f77b4' } }],
  layout: { title: { text: 'Test accuracy' }, height: 300 },
};

test('saveFigureImage writes the chart as a PNG or an SVG', async () => {
  const png = path.join(OUT, 'figure.png');
  await saveFigureImage(bars, png, { width: 600 });
  const { width, height, colours, inked } = await pixels(fs.readFileSync(png));
  assert.deepEqual([width, height], [1200, 600], 'scale 2 by default');
  assert.ok(colours > 20 && inked > 0.1, `${colours} colours, ${(inked * 100).toFixed(1)}% inked`);
  const svg = path.join(OUT, 'sub', 'figure.svg');
  await saveFigureImage(bars, svg);
  const text = fs.readFileSync(svg, 'utf8');
  assert.match(text, /^<svg[^>]*class="main-svg"[^>]*width="900" height="300"/);
  assert.match(text, /Test accuracy/);
  await assert.rejects(saveFigureImage(bars, path.join(OUT, 'figure.gif')), /name the file \.png, \.jpg, \.webp or \.svg/);
});

test('stripPlotlyLibrary removes the inlined library and only it', () => {
  const session = new PlotSession();
  const first = session.html(bars);
  const second = session.html(bars);
  const stripped = stripPlotlyLibrary(first);
  assert.equal(stripped.stripped, true);
  assert.ok(!stripped.html.includes(LIBRARY_BANNER));
  assert.ok(stripped.html.startsWith('<div id="finetune-lab-plot-'));
  assert.ok(first.endsWith(stripped.html));
  assert.deepEqual(stripPlotlyLibrary(second), { html: second, stripped: false });
});
