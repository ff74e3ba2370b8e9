// The BERT WordPiece tokenizer, with transformers' padding and truncation, and its files.
export type { TokenizerConfig, TokenizerFiles, TokenizerJson } from './files.js';
export { BERT_BASE_UNCASED_VOCAB_MD5, bertBaseUncasedVocab } from './vocab.js';
export { truncateTokens, TRUNCATION_STRATEGIES, type Truncation } from './truncation.js';
export * from './bert-tokenizer.js';
