/** Notebook 07's charts of the comparison, as plotly figures for `plot()` or `saveFigureImage()`. */
import type { Figure } from '../plots/index.js';
import { BASELINE, isPrompting, type Comparison, type ComparisonRow } from './comparison.js';

/** Grey for the baseline, purple for prompting, blue for the fine-tuned methods. */
function colourOf(r: ComparisonRow): string {
  return r.method === BASELINE ? '#7f7f7f' : isPrompting(r.method) ? '#9467bd' : '#1f77b4';
}

/** A dashed horizontal line across the plot with its label to the right. */
function hline(y: number, text: string, color: string) {
  return {
    shape: { type: 'line', xref: 'paper', x0: 0, x1: 1, y0: y, y1: y, line: { color, dash: 'dash', width: 2 } },
    annotation: { xref: 'paper', x: 1.01, y, text, showarrow: false, xanchor: 'left', font: { color } },
  };
}

/** Test accuracy per method with the noise as error bars, and chance and the baseline as dashed lines. */
export function accuracyFigure(c: Comparison): Figure {
  const { rows, margin } = c;
  const yardsticks = [hline(c.chance, 'chance', '#d62728'), hline(c.baseline.accuracy, 'bag-of-words', '#7f7f7f')];
  return {
    data: [{
      type: 'bar', x: rows.map((r) => r.name), y: rows.map((r) => r.accuracy), marker: { color: rows.map(colourOf) },
      text: rows.map((r) => `${(100 * r.accuracy).toFixed(1)}%`), textposition: 'outside', cliponaxis: false,
      error_y: { type: 'constant', value: margin, color: '#444', thickness: 1 },
    }],
    layout: {
      title: { text: `Test accuracy (${c.testSize} test reviews, ±${(100 * margin).toFixed(1)} points noise)` },
      yaxis: { title: { text: 'accuracy' }, range: [0, 1.05], tickformat: '.0%' },
      shapes: yardsticks.map((y) => y.shape), annotations: yardsticks.map((y) => y.annotation), height: 420, margin: { r: 110 },
    },
  };
}

/** The weights each method trains, on a log scale (a method that trains none is labelled at the bottom). */
export function trainableFigure(c: Comparison): Figure {
  const { rows } = c;
  return {
    data: [{
      type: 'bar', x: rows.map((r) => r.name), y: rows.map((r) => (r.trainable > 0 ? r.trainable : null)), marker: { color: rows.map(colourOf) },
      text: rows.map((r) => r.trainable.toLocaleString('en-US')), textposition: 'outside', cliponaxis: false,
    }],
    layout: {
      title: { text: 'Trainable weights (log scale)' }, yaxis: { title: { text: 'weights trained' }, type: 'log' }, height: 420,
      annotations: rows.filter((r) => r.trainable === 0).map((r) => ({ x: r.name, y: 0, yref: 'paper', yanchor: 'bottom', text: '0: nothing trained', showarrow: false })),
    },
  };
}

/** Training time (log scale) and peak memory per method, side by side. */
export function costFigure(c: Comparison): Figure {
  const { rows } = c;
  const names = rows.map((r) => r.name);
  return {
    data: [
      { type: 'bar', x: names, y: rows.map((r) => Math.max(r.seconds, 0.01)), marker: { color: rows.map(colourOf) }, text: rows.map((r) => `${r.seconds.toFixed(1)} s`), textposition: 'outside', cliponaxis: false, name: 'training time' },
      { type: 'bar', x: names, y: rows.map((r) => r.memoryBytes / 2 ** 20), marker: { color: rows.map(colourOf) }, text: rows.map((r) => `${(r.memoryBytes / 2 ** 20).toFixed(0)} MiB`), textposition: 'outside', cliponaxis: false, xaxis: 'x2', yaxis: 'y2', name: 'peak memory' },
    ],
    layout: {
      title: { text: 'Training time and peak memory' }, showlegend: false, height: 440,
      grid: { rows: 1, columns: 2, pattern: 'independent' },
      yaxis: { title: { text: 'seconds (log scale)' }, type: 'log' }, yaxis2: { title: { text: 'MiB' } },
    },
  };
}

/** Test accuracy against training time, one labelled point per method. */
export function tradeoffFigure(c: Comparison): Figure {
  return {
    data: c.rows.map((r) => ({
      type: 'scatter', mode: 'markers+text', name: r.name, x: [Math.max(r.seconds, 0.01)], y: [r.accuracy], text: [r.name],
      textposition: 'top center', marker: { size: 14, color: colourOf(r) },
    })),
    layout: {
      title: { text: 'Test accuracy against training time' }, showlegend: false, height: 420,
      xaxis: { title: { text: 'training seconds (log scale)' }, type: 'log' }, yaxis: { title: { text: 'test accuracy' }, tickformat: '.0%' },
    },
  };
}
