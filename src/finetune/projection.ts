import * as tf from '@tensorflow/tfjs';

/** Points on the first two principal components and the share of variance each one explains. */
export interface Projection {
  points: number[][];
  /** Variance along each component over the total variance. */
  explainedVarianceRatio: [number, number];
  /** The components, unit vectors of the feature space. */
  components: [number[], number[]];
}

/**
 * Principal component analysis to two dimensions, e.g. to look at [CLS] features: centres the rows
 * and projects them on the top two eigenvectors of their covariance (found by orthogonal iteration,
 * which needs only matrix products). As scikit-learn, each component's sign makes its largest
 * loading positive, so the picture does not flip from run to run.
 */
export async function pca2(features: tf.Tensor2D, iterations = 300): Promise<Projection> {
  const [n, d] = features.shape;
  if (n < 2 || d < 2) throw new Error(`pca2 needs at least 2 rows of at least 2 features, got [${n}, ${d}]`);
  const [centred, covariance] = tf.tidy(() => {
    const x = tf.sub(features, tf.mean(features, 0));
    return [x, tf.div(tf.matMul(x, x, true, false), n - 1)];
  });
  // Start from fixed, generic directions so that the result is the same every run.
  let basis = tf.randomNormal([2, d], 0, 1, 'float32', 0) as tf.Tensor2D;
  for (let i = 0; i < iterations; i++) {
    const next = tf.tidy(() => tf.linalg.gramSchmidt(tf.matMul(basis, covariance) as tf.Tensor2D) as tf.Tensor2D);
    basis.dispose();
    basis = next;
  }
  const rows = (await basis.array()) as number[][];
  const signs = rows.map((row) => Math.sign(row.reduce((best, v) => (Math.abs(v) > Math.abs(best) ? v : best), 0)) || 1);
  const components = rows.map((row, k) => row.map((v) => v * signs[k])) as [number[], number[]];
  const [projected, variances, total] = tf.tidy(() => {
    const v = tf.tensor2d(components);
    return [tf.matMul(centred, v, false, true), tf.sum(tf.mul(tf.matMul(v, covariance), v), 1), tf.sum(tf.mul(covariance, tf.eye(d)))];
  });
  const [points, variance, totalVariance] = [(await projected.array()) as number[][], await variances.data(), (await total.data())[0]];
  tf.dispose([centred, covariance, basis, projected, variances, total]);
  return { points, explainedVarianceRatio: [variance[0] / totalVariance, variance[1] / totalVariance], components };
}
