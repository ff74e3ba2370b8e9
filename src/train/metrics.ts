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
