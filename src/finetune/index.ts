/**
 * Fine-tuning a BERT classifier: the methods (what trains), the classifiers built on a model,
 * `finetune()` from start to end, and what the notebooks measure along the way.
 */
export { finetune, modelSaver, type FinetuneOptions, type FinetuneResult, type FinetuneSummary } from './finetune.js';
export { FeatureCache, featureClassifier, onnxTokenScorer, tokenClassifier, tokenScores, type ClassifierModel, type FeatureBatch } from './classifiers.js';
export { classifierPooling, pool, POOLINGS, type Pooling } from '../bert/pooling.js';
export { FINETUNE_DEFAULTS } from './defaults.js';
export { applyMethod, checkMethod, countParameters, METHOD_SPECS, METHODS, type Method, type MethodSpec, type Recipe } from './methods.js';
export { predict, type Prediction, type PredictOptions } from './predict.js';
export { withTokenizer } from './pretrained.js';
export { measurePeakMemory } from './memory.js';
export { pca2, type Projection } from './projection.js';
export { DEFAULT_GRID, gridSearch, type GridAxes, type GridBase, type GridOptions, type GridPoint, type GridReport } from './grid.js';
