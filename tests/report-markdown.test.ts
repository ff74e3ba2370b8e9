/**
 * The report's pages take markdown from notebooks as Jupyter takes it from a notebook it does not
 * trust: headings, tables, links and images stay; scripts, event handlers, `javascript:` links,
 * iframes and forms are dropped. (Code outputs keep their scripts: that is how charts draw.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEnvironment } from '../src/backend/environment.js';
import { writeReport } from '../src/jupyter/report.js';
import { loadSettings } from '../src/course/settings.js';

test('markdown cells and markdown outputs are sanitised; code outputs keep their scripts', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'report-markdown-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const hostile = [
    '# A title',
    '| a | b |\n|---|---|\n| 1 | 2 |',
    '[a link](https://example.org) and [a trap](javascript:alert(1))',
    '<script>window.pwned = 1</script>',
    '<img src="x.png" onerror="window.pwned = 2" alt="image">',
    '<iframe src="https://example.org"></iframe>',
    '<form action="https://example.org"><input name="q"></form>',
    '<a href="https://example.org" onclick="window.pwned = 3">click</a>',
    '<div style="position:fixed">styled</div>',
  ].join('\n\n');
  const notebook = join(dir, 'hostile.ipynb');
  writeFileSync(notebook, JSON.stringify({
    nbformat: 4, nbformat_minor: 5, metadata: {},
    cells: [
      { cell_type: 'markdown', id: 'md', metadata: {}, source: hostile },
      {
        cell_type: 'code', id: 'code', metadata: {}, execution_count: 1, source: 'display()',
        outputs: [
          { output_type: 'display_data', metadata: {}, data: { 'text/markdown': '<script>window.pwned = 4</script>\n\n**bold**' } },
          { output_type: 'display_data', metadata: {}, data: { 'text/html': '<div id="chart"></div><script>window.drawn = true</script>' } },
        ],
      },
    ],
  }));
  const report = writeReport([{ notebook, result: { notebook, output: notebook, ok: true, seconds: 1 } }], {
    outDir: join(dir, 'report'), settings: loadSettings({}), environment: await describeEnvironment({ backend: 'cpu' }), totalSeconds: 1,
  });
  const page = readFileSync(report.pages[0], 'utf8');
  for (const kept of ['<h1>A title</h1>', '<table>', '<td>1</td>', '<a href="https://example.org">a link</a>', '<img src="x.png" alt="image" />', '<strong>bold</strong>', '<script>window.drawn = true</script>']) {
    assert.ok(page.includes(kept), `kept: ${kept}`);
  }
  for (const dropped of ['pwned', 'javascript:', '<iframe', '<form', 'onerror', 'onclick', 'position:fixed']) {
    assert.ok(!page.includes(dropped), `dropped: ${dropped}`);
  }
});
