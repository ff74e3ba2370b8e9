/** BERT's WordPiece tokenizer (tokenizer.ts), its files (files.ts) and the bert-base-uncased vocabulary it ships (vocab.ts). */
export * from './tokenizer.js';
export type { TokenizerConfig, TokenizerFiles, TokenizerJson } from './files.js';
export { BERT_BASE_UNCASED_VOCAB_MD5, bertBaseUncasedVocab } from './vocab.js';
export type { Truncation } from './truncation.js';
