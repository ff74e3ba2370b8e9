/** Classification metrics over plain label arrays, as scikit-learn computes them. */

export interface ClassificationReport {
  accuracy: number;
  /** F1 of the positive class (label 1) for two classes, macro-averaged F1 otherwise. */
  f1: number;
  /** confusion[trueLabel][predictedLabel] = count */
  confusion: number[][];
}

export function confusionMatrix(labels: ArrayLike<number>, predictions: ArrayLike<number>, numClasses = 2): number[][] {
  if (labels.length !== predictions.length) {
    throw new Error(`confusionMatrix: ${labels.length} labels but ${predictions.length} predictions`);
  }
  const matrix = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const [t, p] = [labels[i], predictions[i]];
    if (!(t >= 0 && t < numClasses && p >= 0 && p < numClasses)) {
      throw new Error(`confusionMatrix: label ${t} or prediction ${p} at index ${i} is outside 0..${numClasses - 1}`);
    }
    matrix[t][p]++;
  }
  return matrix;
}

function f1OfClass(confusion: number[][], c: number): number {
  const tp = confusion[c][c];
  const predicted = confusion.reduce((sum, row) => sum + row[c], 0);
  const actual = confusion[c].reduce((a, b) => a + b, 0);
  // scikit-learn's zero_division=0 convention: an empty class scores 0 rather than NaN.
  return predicted + actual === 0 ? 0 : (2 * tp) / (predicted + actual);
}

export function classificationReport(labels: ArrayLike<number>, predictions: ArrayLike<number>, numClasses = 2): ClassificationReport {
  const confusion = confusionMatrix(labels, predictions, numClasses);
  const correct = confusion.reduce((sum, row, i) => sum + row[i], 0);
  const f1 = numClasses === 2
    ? f1OfClass(confusion, 1)
    : confusion.reduce((sum, _, c) => sum + f1OfClass(confusion, c), 0) / numClasses;
  return { accuracy: labels.length ? correct / labels.length : 0, f1, confusion };
}

/**
 * The area under the ROC curve of `scores` for binary `labels` (1 positive), as scikit-learn's
 * `roc_auc_score`: the chance that a random positive scores above a random negative, ties
 * counting half (the Mann-Whitney statistic, with average ranks). NaN without both classes.
 */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  if (labels.length !== scores.length) throw new Error(`rocAuc: ${labels.length} labels but ${scores.length} scores`);
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let positives = 0;
  let rankSum = 0;
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end + 1 < order.length && scores[order[end + 1]] === scores[order[start]]) end++;
    // Ranks start + 1 ... end + 1 share their mean.
    const rank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) if (labels[order[k]] === 1) { positives++; rankSum += rank; }
    start = end + 1;
  }
  const negatives = labels.length - positives;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
