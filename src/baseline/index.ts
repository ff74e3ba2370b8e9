/** The bag-of-words baseline (baseline.ts): tf-idf features (vectorizer.ts) and a logistic regression (logistic.ts). */
export * from './baseline.js';
export { BagOfWords, type SparseRow, type VectorizerOptions } from './vectorizer.js';
export { LogisticRegression, type LogisticOptions } from './logistic.js';
