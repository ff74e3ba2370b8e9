// The course's standard charts carry the numbers they are given, where plotly expects them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { confusionFigure, historyFigure, scatterFigure, tokenHeatmapFigure } from '../src/plots/figures.js';
import type { EpochRecord } from '../src/train/trainer.js';

type Trace = { name?: string; x?: unknown[]; y?: unknown[]; z?: unknown; xaxis?: string; yaxis?: string };

const history: EpochRecord[] = [
  { epoch: 1, trainLoss: 0.7, valLoss: 0.6, valAccuracy: 0.6, valF1: 0.55, lr: 1e-4, seconds: 3, samplesPerSecond: 40 },
  { epoch: 2, trainLoss: 0.5, valLoss: 0.55, valAccuracy: 0.7, valF1: 0.72, lr: 0, seconds: 3, samplesPerSecond: 41 },
];

test('historyFigure: losses on the first axes, accuracy and F1 on the second, per epoch', () => {
  const traces = historyFigure(history).data as Trace[];
  const byName = Object.fromEntries(traces.map((t) => [t.name, t]));
  assert.deepEqual(byName['training loss'].y, [0.7, 0.5]);
  assert.deepEqual(byName['validation loss'].y, [0.6, 0.55]);
  assert.deepEqual(byName['validation accuracy'].y, [0.6, 0.7]);
  assert.deepEqual(byName['validation F1'].y, [0.55, 0.72]);
  for (const t of traces) assert.deepEqual(t.x, [1, 2]);
  assert.equal(byName['training loss'].yaxis, undefined);
  assert.equal(byName['validation accuracy'].yaxis, 'y2');
});

test('confusionFigure: one annotation per cell with its count, true classes as rows', () => {
  const figure = confusionFigure([[50, 3], [7, 40]], ['negative', 'positive']);
  const [heatmap] = figure.data as Trace[];
  assert.deepEqual(heatmap.z, [[50, 3], [7, 40]]);
  const notes = (figure.layout as { annotations: { x: string; y: string; text: string }[] }).annotations;
  assert.deepEqual(notes.map((a) => [a.y, a.x, a.text]), [
    ['negative', 'negative', '50'], ['negative', 'positive', '3'], ['positive', 'negative', '7'], ['positive', 'positive', '40'],
  ]);
});

test('tokenHeatmapFigure keeps repeated tokens apart; scatterFigure has one trace per class', () => {
  const [heat] = tokenHeatmapFigure([[1, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]], ['[CLS]', 'good', 'good']).data as Trace[];
  assert.deepEqual(heat.x, ['0 [CLS]', '1 good', '2 good']);
  const traces = scatterFigure([[0, 1], [2, 3], [4, 5]], [1, 0, 1], ['negative', 'positive']).data as Trace[];
  assert.deepEqual(traces.map((t) => [t.name, t.x, t.y]), [['negative', [2], [3]], ['positive', [0, 4], [1, 5]]]);
});
