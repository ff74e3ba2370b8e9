/**
 * Notebook tables: the rows console.table takes come out as an HTML table with the same cells,
 * escaped, numbers right-aligned; outside a kernel table() falls back to console.table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { table, tableHtml } from '../src/plots/table.js';

/** The table's cells, row by row (header first), as text. */
function cells(html: string): string[][] {
  return [...html.matchAll(/<tr>(.*?)<\/tr>/g)].map(([, row]) => [...row.matchAll(/<t[hd][^>]*>(.*?)<\/t[hd]>/g)].map(([, c]) => c));
}

test('a list of rows: one column per key in first-seen order, thousands separators, missing cells empty', () => {
  const html = tableHtml([{ method: 'full', accuracy: 81.5, trainable: 4386050 }, { method: 'lora <b>', trainable: 8194, note: 'x' }]);
  assert.deepEqual(cells(html), [
    ['method', 'accuracy', 'trainable', 'note'],
    ['full', '81.5', '4,386,050', ''],
    ['lora &lt;b&gt;', '', '8,194', 'x'],
  ]);
  assert.match(html, /<th style="text-align:right">trainable<\/th>/);
  assert.match(html, /<td style="text-align:left">full<\/td>/);
});

test('an object of values becomes name and value columns; an object of rows keeps its keys as the index', () => {
  assert.deepEqual(cells(tableHtml({ profile: 'ci', epochs: 1 })), [['', 'value'], ['profile', 'ci'], ['epochs', '1']]);
  const loaders = { train: { size: 256, numBatches: 8, extra: 1 }, test: { size: 128, numBatches: 4, extra: 2 } };
  assert.deepEqual(cells(tableHtml(loaders, ['size', 'numBatches'])), [['', 'size', 'numBatches'], ['train', '256', '8'], ['test', '128', '4']]);
});

test('outside a notebook kernel, table() prints console.table', (t) => {
  const printed: unknown[][] = [];
  t.mock.method(console, 'table', (...args: unknown[]) => { printed.push(args); });
  table([{ a: 1 }], ['a']);
  assert.deepEqual(printed, [[[{ a: 1 }], ['a']]]);
});

test('a danfojs DataFrame: its index first, then its columns, as pandas shows one in Jupyter', async () => {
  const { labelCounts, lengthStats } = await import('../src/data/frame.js');
  const dataset = { text: ['a b c', 'd e', 'f'], label: [1, 0, 1], labelNames: ['negative', 'positive'] };
  assert.deepEqual(cells(tableHtml(labelCounts(dataset as never))), [
    ['', 'label', 'class', 'count', 'share'],
    ['0', '0', 'negative', '1', '0.3333'],
    ['1', '1', 'positive', '2', '0.6667'],
  ]);
  assert.deepEqual(cells(tableHtml(lengthStats(dataset as never), ['min', 'max']))[1], ['words', '1', '3']);
});
