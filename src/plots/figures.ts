/**
 * The course's standard charts, as plotly figures for `plot()` or `saveFigure()`: learning
 * curves, a confusion matrix, a heatmap of token-to-token weights, and labelled 2-D points.
 */
import type { EpochRecord } from '../train/trainer.js';
import type { Figure } from './index.js';

/** Training and validation loss (left) and validation accuracy and F1 (right), per epoch. */
export function historyFigure(history: readonly EpochRecord[], title = 'Learning curves'): Figure {
  const epochs = history.map((r) => r.epoch);
  const line = (name: string, y: number[], axis: 1 | 2, dash = 'solid') => ({
    type: 'scatter', mode: 'lines+markers', name, x: epochs, y, line: { dash },
    ...(axis === 2 ? { xaxis: 'x2', yaxis: 'y2' } : {}),
  });
  return {
    data: [
      line('training loss', history.map((r) => r.trainLoss), 1),
      line('validation loss', history.map((r) => r.valLoss), 1, 'dash'),
      line('validation accuracy', history.map((r) => r.valAccuracy), 2),
      line('validation F1', history.map((r) => r.valF1), 2, 'dash'),
    ],
    layout: {
      title: { text: title },
      height: 380,
      grid: { rows: 1, columns: 2, pattern: 'independent' },
      xaxis: { title: { text: 'epoch' }, dtick: 1 },
      yaxis: { title: { text: 'loss' } },
      xaxis2: { title: { text: 'epoch' }, dtick: 1 },
      yaxis2: { title: { text: 'accuracy / F1' }, range: [0, 1] },
    },
  };
}

/** `confusion[true][predicted]` as an annotated heatmap, true classes down, predictions across. */
export function confusionFigure(confusion: readonly (readonly number[])[], labels: readonly string[], title = 'Confusion matrix'): Figure {
  const largest = Math.max(1, ...confusion.flat());
  const annotations = confusion.flatMap((row, t) => row.map((count, p) => ({
    x: labels[p], y: labels[t], text: String(count), showarrow: false,
    font: { size: 16, color: count > largest / 2 ? 'white' : 'black' },
  })));
  return {
    data: [{ type: 'heatmap', z: confusion, x: labels, y: labels, colorscale: 'Blues', reversescale: true, zmin: 0, zmax: largest, showscale: false }],
    layout: {
      title: { text: title },
      height: 360,
      xaxis: { title: { text: 'predicted' } },
      yaxis: { title: { text: 'true' }, autorange: 'reversed' },
      annotations,
    },
  };
}

/** A square matrix of weights between tokens (e.g. attention: row = query token, column = key token). */
export function tokenHeatmapFigure(weights: readonly (readonly number[])[], tokens: readonly string[], title = 'Attention'): Figure {
  // Plotly merges equal category names; numbering the tokens keeps repeated words apart.
  const names = tokens.map((t, i) => `${i} ${t}`);
  return {
    data: [{ type: 'heatmap', z: weights, x: names, y: names, colorscale: 'Viridis' }],
    layout: {
      title: { text: title },
      height: Math.max(400, 14 * tokens.length + 160),
      xaxis: { title: { text: 'attends to' }, tickfont: { size: 9 } },
      yaxis: { title: { text: 'token' }, autorange: 'reversed', tickfont: { size: 9 } },
    },
  };
}

/** 2-D points, one colour per class. */
export function scatterFigure(points: readonly (readonly number[])[], labels: readonly number[], labelNames: readonly string[], title = 'Projection'): Figure {
  return {
    data: labelNames.map((name, c) => {
      const mine = points.filter((_, i) => labels[i] === c);
      return { type: 'scatter', mode: 'markers', name, x: mine.map((p) => p[0]), y: mine.map((p) => p[1]), marker: { size: 6, opacity: 0.7 } };
    }),
    layout: { title: { text: title }, height: 420, xaxis: { title: { text: 'component 1' } }, yaxis: { title: { text: 'component 2' } } },
  };
}
