/**
 * Self-supervised learning: labels made from raw text (next words, masked tokens) and
 * pretraining of a BERT from scratch, by masked-language modelling or replaced-token detection.
 */
export { bagOfWordsTargets, disposeBatch, IGNORE_INDEX, maskingTable, maskingVocab, maskSequence, mlmBatch, nextWordExamples } from './labels.js';
export type { MaskAction, MaskedSequence, MaskingOptions, MaskingRow, MaskingVocab, MlmBatch, NextWordExample } from './labels.js';
export { buildCorpus, packWindows, tokenizeCorpus, TOKEN_CACHE_DIR, Windows } from './corpus.js';
export type { CorpusOptions, PretrainCorpus, TokenizedTexts } from './corpus.js';
export { MODEL_SIZES, parseSize, shapeName, sizeConfig } from './sizes.js';
export type { ModelSize } from './sizes.js';
export { EVAL_SEQUENCES, evaluateMlm, HELD_OUT_TEXTS, heldOutMlm, heldOutSequences } from './evaluation.js';
export type { HeldOutOptions, MlmEvaluation, RtdEvaluation } from './evaluation.js';
export { maskedLmLoss, sparseCrossEntropy } from './objective.js';
export { binaryCrossEntropy, GENERATOR_PREFIX, generatorSize, replacedTokenLoss, replaceTokens, rtdParams, RTD_WEIGHT, samplingSeed } from './rtd.js';
export { BUDGET_WARMUP_STEPS, MEASURED_STEPS, modelRunSettings, PRETRAIN_OBJECTIVES, savedRunSettings } from './options.js';
export type { Budget, Cadence, Continuation, PretrainObjective, PretrainOptions, PretrainRecord, PretrainResult, PretrainSummary, RunSettings } from './options.js';
export { pretrain } from './train.js';
export { cachedWordVectors, cooccurrenceEmbeddings, EMBEDDING_INITS, embeddingVectors, initWordEmbeddings, nearestWords, wordVectors } from './word-vectors.js';
export type { EmbeddingInit, WordVectorOptions, WordVectors } from './word-vectors.js';
export { randomizedSvd } from './randomized-svd.js';
export type { CsrMatrix, RandomizedSvdOptions, TruncatedSvd } from './randomized-svd.js';
