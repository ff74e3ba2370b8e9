/**
 * Self-supervised learning: labels made from raw text (next words, masked tokens) and
 * masked-language-model pretraining of a BERT from scratch.
 */
export { bagOfWordsTargets, disposeBatch, IGNORE_INDEX, maskingTable, maskingVocab, maskSequence, mlmBatch, nextWordExamples } from './labels.js';
export type { MaskAction, MaskedSequence, MaskingOptions, MaskingRow, MaskingVocab, MlmBatch, NextWordExample } from './labels.js';
export { buildCorpus, packWindows, tokenizeCorpus, TOKEN_CACHE_DIR, Windows } from './corpus.js';
export type { CorpusOptions, PretrainCorpus } from './corpus.js';
export { MODEL_SIZES, parseSize, shapeName, sizeConfig } from './sizes.js';
export type { ModelSize } from './sizes.js';
export { EVAL_SEQUENCES, evaluateMlm, HELD_OUT_TEXTS, heldOutMlm, heldOutSequences, maskedLmLoss, pretrain, savedRunSettings, sparseCrossEntropy } from './train.js';
export type { HeldOutOptions, MlmEvaluation, PretrainOptions, PretrainRecord, PretrainResult, PretrainSummary, RunSettings } from './train.js';
