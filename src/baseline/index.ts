// The bag-of-words baseline that gives BERT's numbers a meaning.
export { BagOfWords, type SparseRow, type VectorizerOptions } from './vectorizer.js';
export { LogisticRegression, type LogisticOptions } from './logistic.js';
export * from './classifier.js';
