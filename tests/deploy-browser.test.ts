/**
 * The report's browser page (deploy.html), in headless Chromium: the report, written with an
 * exported classifier, is served by a static server of this test's own on 127.0.0.1; every other
 * request is refused and recorded. Reviews typed into the page are classified by transformers.js
 * on ONNX Runtime Web from the report's own files, with the labels and the probabilities of our
 * TensorFlow.js forward pass, within 1e-4. From file:// the page says how to serve it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Browser, chromium, type Page } from 'playwright-core';
import { CHROMIUM, requireSystem } from '../kernel-setup/system.mjs';
import { assertClose } from './helpers/close.js';
import { exportSentiment, LABELS, sentimentModel, softmax, type SentimentModel } from './helpers/sentiment-model.js';
import { describeEnvironment } from '../src/backend/environment.js';
import { loadSettings } from '../src/course/settings.js';
import { DEPLOY_PAGE } from '../src/jupyter/deploy-page.js';
import { writeReport } from '../src/jupyter/report.js';
import { SAMPLE_REVIEWS } from '../src/course/reviews.js';

const TMP = mkdtempSync(join(tmpdir(), 'deploy-browser-'));
const REPORT = join(TMP, 'report');
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

let ours: SentimentModel;
let server: http.Server;
let origin: string;
let browser: Browser;
const served: string[] = [];

before(async () => {
  requireSystem('chromium');
  ours = await sentimentModel();
  await exportSentiment(ours, join(TMP, 'export'));
  const environment = await describeEnvironment({ backend: 'cpu', quiet: true });
  writeReport([], { outDir: REPORT, settings: loadSettings(), environment, totalSeconds: 0, deployModel: { dir: join(TMP, 'export'), name: 'a test classifier' } });
  server = http.createServer((req, res) => {
    const file = join(REPORT, normalize(decodeURIComponent(new URL(req.url!, 'http://x').pathname)));
    served.push(req.url!);
    if (!file.startsWith(REPORT) || !existsSync(file) || !statSync(file).isFile()) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
});
after(async () => {
  await browser?.close();
  server?.close();
  ours?.model.dispose();
  rmSync(TMP, { recursive: true, force: true });
});

/** A page whose requests outside `allowed` are refused and listed in `refused`, and whose errors are collected. */
async function openPage(allowed: string): Promise<{ page: Page; refused: string[]; errors: string[] }> {
  const page = await browser.newPage();
  const refused: string[] = [];
  const errors: string[] = [];
  await page.route('**/*', (route) => (route.request().url().startsWith(allowed) ? route.continue() : (refused.push(route.request().url()), route.abort())));
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, refused, errors };
}

test('the index links to the page, which classifies typed reviews as our forward pass does (within 1e-4), offline', async () => {
  const { page, refused, errors } = await openPage(origin);
  await page.goto(`${origin}/index.html`);
  await page.click(`a[href="${DEPLOY_PAGE}"]`);
  await page.waitForSelector('body[data-ready="true"], body[data-error]', { state: 'attached', timeout: 120_000 });
  assert.equal(await page.getAttribute('body', 'data-ready'), 'true', `the model did not load: ${errors.join('; ')}; refused ${refused.join(', ')}`);
  const reviews = [...SAMPLE_REVIEWS, 'the worst film i have ever seen'];
  const labelsSeen = new Set<string>();
  for (const [i, review] of reviews.entries()) {
    await page.fill('#review', review);
    await page.click('#classify');
    await page.waitForSelector(`body[data-classified="${i + 1}"], body[data-error]`, { state: 'attached', timeout: 30_000 });
    assert.equal(await page.getAttribute('body', 'data-error'), null, `classifying failed: ${errors.join("; ")}; served ${served.join(", ")}`);
    const rows = await page.$$eval('#result tr.score', (trs) => trs.map((tr) => ({ label: (tr as HTMLElement).dataset.label!, score: Number((tr as HTMLElement).dataset.score) })));
    const probabilities = softmax(ours.logits(ours.tokenizer.encode(review).input_ids)[0]);
    const best = probabilities.indexOf(Math.max(...probabilities));
    assert.equal(rows[0].label, LABELS[best], review);
    labelsSeen.add(rows[0].label);
    assertClose(LABELS.map((label) => rows.find((r) => r.label === label)!.score), probabilities, 1e-4, review);
    assert.match(await page.textContent('#result') ?? '', new RegExp(`${LABELS[best]}${(100 * probabilities[best]).toFixed(1)}%`));
  }
  assert.equal(labelsSeen.size, 2, 'the reviews should get both labels');
  assert.deepEqual(errors, []);
  assert.deepEqual(refused, [], 'the page asked for something outside the report');
  for (const file of ['/assets/transformers.min.js', '/assets/ort-wasm-simd-threaded.wasm', '/models/sentiment/onnx/model.onnx', '/models/sentiment/tokenizer.json']) {
    assert.ok(served.includes(file), `${file} was not loaded from the report (served: ${served.join(', ')})`);
  }
  await page.close();
});

test('opened from file://, the page says how to serve it', async () => {
  const { page, errors, refused } = await openPage('file://');
  await page.goto(pathToFileURL(join(REPORT, DEPLOY_PAGE)).href);
  await page.waitForFunction(() => document.getElementById('status')?.textContent?.includes('http.server'));
  assert.match(await page.textContent('#status') ?? '', /Serve the report, e\.g\. python3 -m http\.server -b 127\.0\.0\.1 -d report 8000/);
  assert.deepEqual(errors, [], 'the report test opens every page from file:// and wants no JavaScript error');
  assert.deepEqual(refused, []);
  await page.close();
});
