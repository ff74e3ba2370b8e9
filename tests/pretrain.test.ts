// Self-supervised labels (next-word table, BERT's masking statistics, whole-word masking),
// masked-language-model and replaced-token-detection pretraining: exact resume, the saved model,
// the held-out evaluation; the recipe's settings (accumulation, schedules, time budget, snapshots).
import { before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fromPretrained } from '../src/bert/pretrained.js';
import { loadCheckpoint } from '../src/bert/checkpoint.js';
import { BertForMaskedLM, BertForReplacedTokenDetection } from '../src/bert/heads.js';
import { EVAL } from '../src/ops.js';
import { oneCycleSchedule, scheduleFactor, trainStep } from '../src/train/step.js';
import { AdamW } from '../src/train/optimizer.js';
import { rocAuc } from '../src/train/metrics.js';
import { mulberry32 } from '../src/data/random.js';
import { pretrainingText } from '../src/data/split.js';
import { BertTokenizer } from '../src/tokenizer/index.js';
import {
  bagOfWordsTargets, buildCorpus, heldOutMlm, IGNORE_INDEX, maskingTable, maskingVocab, maskSequence, mlmBatch, disposeBatch, nextWordExamples,
  parseSize, pretrain, sparseCrossEntropy, type MaskAction,
  binaryCrossEntropy, evaluateMlm, generatorSize, heldOutSequences, replacedTokenLoss, replaceTokens, samplingSeed, sizeConfig, type PretrainOptions, type PretrainState,
} from '../src/pretrain/index.js';
import { initBackend } from '../src/backend/index.js';
import { cli } from './helpers/cli.js';

// The tensors these tests make run on the cpu backend, chosen as the library's users choose one
// (tfjs' implicit choice would print its banner telling Node users to install tfjs-node).
before(() => initBackend({ backend: 'cpu', quiet: true }));

test("the article's next-word table for 'I am a data scientist'", () => {
  assert.deepEqual(nextWordExamples('I am a data scientist'), [
    { context: 'I', next: 'am' },
    { context: 'I am', next: 'a' },
    { context: 'I am a', next: 'data' },
    { context: 'I am a data', next: 'scientist' },
  ]);
});

/** |observed - expected| must stay within 4 binomial standard deviations (a false alarm about once in 16,000 runs). */
function assertShare(count: number, n: number, p: number, what: string): void {
  const sd = Math.sqrt((p * (1 - p)) / n);
  const share = count / n;
  assert.ok(Math.abs(share - p) < 4 * sd, `${what}: ${share.toFixed(4)} of ${n}, expected ${p} ± ${(4 * sd).toFixed(4)}`);
}

test('MLM masking: 15% of the non-special tokens, 80% [MASK] / 10% random / 10% kept, labels only there', async () => {
  const tokenizer = await BertTokenizer.fromPretrained('bert-base-uncased');
  const vocab = maskingVocab(tokenizer);
  const special = [...vocab.specialIds];
  const random = mulberry32(7);
  const pool = vocab.randomIds;
  let tokens = 0;
  let chosen = 0;
  const actions: Record<MaskAction, number> = { mask: 0, random: 0, keep: 0 };
  const replacementIsSpecial: number[] = [];
  for (let s = 0; s < 2000; s++) {
    // [CLS] words [SEP] [PAD]...: with special tokens inside and padding at the end.
    const body = Array.from({ length: 100 }, () => pool[Math.floor(random() * pool.length)]);
    body[50] = tokenizer.sepTokenId;
    body[51] = tokenizer.unkTokenId;
    const ids = [tokenizer.clsTokenId, ...body, tokenizer.sepTokenId, ...new Array(26).fill(tokenizer.padTokenId)];
    const masked = maskSequence(ids, vocab, mulberry32(1000 + s));
    tokens += ids.filter((id) => !vocab.specialIds.has(id)).length;
    chosen += masked.positions.length;
    const chosenSet = new Set(masked.positions);
    ids.forEach((id, i) => {
      if (chosenSet.has(i)) {
        assert.ok(!special.includes(id), `special token ${id} chosen at ${i}`);
        assert.equal(masked.labels[i], id);
      } else {
        assert.equal(masked.labels[i], IGNORE_INDEX);
        assert.equal(masked.inputIds[i], id, `unchosen position ${i} changed`);
      }
    });
    masked.positions.forEach((p, k) => {
      const action = masked.actions[k];
      actions[action]++;
      const input = masked.inputIds[p];
      if (action === 'mask') assert.equal(input, tokenizer.maskTokenId);
      if (action === 'keep') assert.equal(input, ids[p]);
      if (action === 'random' && special.includes(input)) replacementIsSpecial.push(input);
    });
  }
  assert.deepEqual(replacementIsSpecial, [], 'random replacements must not be special tokens');
  assertShare(chosen, tokens, 0.15, 'chosen share of the non-special tokens');
  assertShare(actions.mask, chosen, 0.8, '[MASK] share of the chosen');
  assertShare(actions.random, chosen, 0.1, 'random share of the chosen');
  assertShare(actions.keep, chosen, 0.1, 'kept share of the chosen');
});

test('random replacements come from the whole vocabulary of real tokens, never bracketed ones', async () => {
  const tokenizer = await BertTokenizer.fromPretrained('bert-base-uncased');
  const vocab = maskingVocab(tokenizer);
  const tokens = tokenizer.convertIdsToTokens([...vocab.randomIds]);
  assert.equal(tokens.filter((t) => /^\[.*\]$/.test(t)).length, 0);
  // bert-base-uncased: 30,522 entries, of which [PAD], [UNK], [CLS], [SEP], [MASK] and 994 [unusedN].
  assert.equal(vocab.randomIds.length, 30522 - 5 - 994);
  const masked = maskSequence([101, 1996, 3185, 102], vocab, mulberry32(3), { probability: 1, maskRate: 0, randomRate: 1 });
  assert.deepEqual(masked.positions, [1, 2]);
  assert.deepEqual(masked.actions, ['random', 'random']);
});

test('whole-word masking chooses all WordPiece pieces of a word together, 15% of the words', async () => {
  const tokenizer = await BertTokenizer.fromPretrained('bert-base-uncased');
  const vocab = maskingVocab(tokenizer);
  const text = 'The cinematography was unbelievably breathtaking, although the screenwriter overindulged in melodramatic monologues.';
  const ids = tokenizer.encode(text).input_ids[0];
  const tokens = tokenizer.convertIdsToTokens(ids);
  // Words as WordPiece groups: a ## piece belongs to the word before it.
  const words: number[][] = [];
  tokens.forEach((t, i) => {
    if (vocab.specialIds.has(ids[i])) return;
    if (t.startsWith('##')) words[words.length - 1].push(i);
    else words.push([i]);
  });
  assert.ok(words.some((w) => w.length >= 3), `the sentence should have words of several pieces: ${tokens.join(' ')}`);
  let chosenWords = 0;
  let splitWords = 0;
  const runs = 3000;
  for (let s = 0; s < runs; s++) {
    const chosen = new Set(maskSequence(ids, vocab, mulberry32(s), { wholeWord: true }).positions);
    for (const word of words) {
      const n = word.filter((i) => chosen.has(i)).length;
      if (n === word.length) chosenWords++;
      else if (n > 0) splitWords++;
    }
  }
  assert.equal(splitWords, 0, 'a word was masked in part');
  assertShare(chosenWords, runs * words.length, 0.15, 'chosen share of the words');
  // Token-level masking does split words.
  const pieces = new Set(maskSequence(ids, vocab, mulberry32(11), { probability: 0.5 }).positions);
  assert.ok(words.some((w) => w.length > 1 && w.some((i) => pieces.has(i)) && !w.every((i) => pieces.has(i))));
});

test('masking is a function of the random stream; the table and the batch show it', async () => {
  const tokenizer = await BertTokenizer.fromPretrained('bert-base-uncased');
  const vocab = maskingVocab(tokenizer);
  const ids = tokenizer.encode('a long and rather dull film about nothing at all, which i watched twice anyway').input_ids[0];
  const a = maskSequence(ids, vocab, mulberry32(5), { probability: 0.4 });
  assert.deepEqual(maskSequence(ids, vocab, mulberry32(5), { probability: 0.4 }), a);
  assert.notDeepEqual(maskSequence(ids, vocab, mulberry32(6), { probability: 0.4 }).positions, a.positions);

  const table = maskingTable(tokenizer, ids, a);
  assert.equal(table.length, ids.length);
  assert.deepEqual(table.filter((r) => r.label !== '').map((r) => r.position), a.positions);
  for (const row of table) assert.equal(row.original, tokenizer.convertIdsToTokens([ids[row.position]])[0]);

  const b = maskSequence(ids.slice(0, 8), vocab, mulberry32(9), { probability: 0.5 });
  const batch = mlmBatch([a, b], tokenizer.padTokenId);
  const width = ids.length;
  assert.deepEqual(batch.inputIds.shape, [2, width]);
  assert.deepEqual(await batch.positions.array(), [...a.positions, ...b.positions.map((p) => width + p)]);
  assert.deepEqual(await batch.targets.array(), [...a.positions.map((p) => ids[p]), ...b.positions.map((p) => ids[p])]);
  assert.deepEqual((await batch.attentionMask.array())[1], [...new Array(8).fill(1), ...new Array(width - 8).fill(0)]);
  assert.equal(batch.count, a.positions.length + b.positions.length);
  disposeBatch(batch);
});

test('the corpus packs texts into full [CLS] ... [SEP] windows, with [SEP] between texts', async () => {
  const tokenizer = await BertTokenizer.fromPretrained('bert-base-uncased');
  const texts = ['one two three four five six', 'seven eight nine ten eleven', 'twelve thirteen', 'held out text that is long enough for one window of eight'];
  const corpus = buildCorpus(texts, tokenizer, { seqLength: 8, heldOutTexts: 1, cacheDir: null });
  const stream = texts.slice(0, 3).flatMap((t) => [...tokenizer.encode(t).input_ids[0].slice(1, -1), tokenizer.sepTokenId]);
  assert.equal(corpus.train.count, Math.floor(stream.length / 6));
  for (let w = 0; w < corpus.train.count; w++) {
    assert.deepEqual([...corpus.train.row(w)], [tokenizer.clsTokenId, ...stream.slice(6 * w, 6 * w + 6), tokenizer.sepTokenId]);
  }
  assert.equal(corpus.heldOut.count, 2);
  assert.equal(corpus.trainTokens, stream.length - 3);
});

test('sparseCrossEntropy: the loss and gradient of log-softmax and a pick, as autodiff computes them', async () => {
  await initBackend({ backend: 'wasm', quiet: true });
  const logits = tf.randomNormal([9, 40], 0, 4, 'float32', 3) as tf.Tensor2D;
  const targets = tf.tensor1d([0, 39, 5, 5, 12, 7, 0, 21, 33], 'int32');
  const reference = tf.valueAndGrad((x: tf.Tensor) => tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(x), tf.oneHot(targets, 40)), 1))) as tf.Scalar)(logits);
  const fused = tf.valueAndGrad((x: tf.Tensor) => sparseCrossEntropy(x as tf.Tensor2D, targets))(logits);
  assert.ok(Math.abs((await fused.value.data())[0] - (await reference.value.data())[0]) < 1e-5);
  const gap = (await tf.max(tf.abs(tf.sub(fused.grad, reference.grad))).data())[0];
  assert.ok(gap < 1e-7, `gradient differs by ${gap}`);
  tf.dispose([logits, targets, reference.value, reference.grad, fused.value, fused.grad]);
});

const PRETRAIN = {
  size: 'L1-H32-A2',
  steps: 8,
  seqLength: 32,
  batchSize: 4,
  lr: 2e-3,
  logEvery: 1,
  evalEvery: 4,
  saveEvery: 2,
  heldOutTexts: 20,
  evalSequences: 16,
  backend: 'wasm' as const,
  log: null,
};

/** A temporary `root` with PRETRAIN's 8 steps run straight in `root/straight`, and `run` for more runs on the same small corpus (cached in `cacheDir`). */
async function straightRun(t: TestContext) {
  const root = mkdtempSync(join(tmpdir(), 'finetune-lab-pretrain-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const texts = pretrainingText().slice(0, 120);
  const cacheDir = join(root, 'cache');
  const run = (options: Partial<PretrainOptions>) => pretrain({ ...PRETRAIN, texts, cacheDir, ...options });
  const straight = await run({ outputDir: join(root, 'straight') });
  straight.model.dispose();
  return { root, cacheDir, run, straight };
}

test('pretraining resumes exactly: 4 steps + resume to 8 gives the losses and weights of 8 straight steps', async (t) => {
  const { root, cacheDir, run, straight } = await straightRun(t);
  const tensors = tf.memory().numTensors;
  const first = await run({ outputDir: join(root, 'resumed'), maxSteps: 4 });
  first.model.dispose();
  assert.equal(first.summary.completed, false);
  assert.equal(first.summary.steps, 4);
  assert.equal(readdirSync(cacheDir).length, 1, 'the tokenized corpus is cached once');
  const second = await run({ outputDir: join(root, 'resumed'), resume: true });
  second.model.dispose();
  assert.equal(tf.memory().numTensors, tensors, 'pretraining leaves no tensors behind');
  assert.equal(second.summary.completed, true);
  assert.equal(second.summary.steps, 8);

  const losses = (h: typeof straight.history) => h.map(({ step, loss, evalLoss, evalAccuracy }) => ({ step, loss, evalLoss, evalAccuracy }));
  assert.equal(straight.history.filter((r) => r.loss !== undefined).length, 8);
  assert.deepEqual(losses(second.history), losses(straight.history));
  assert.ok(straight.history[0].evalLoss! > 10, 'a fresh model is near ln(30522) = 10.3');
  const weights = (dir: string) => readFileSync(join(root, dir, 'model', 'model.safetensors'));
  assert.ok(weights('straight').equals(weights('resumed')), 'final weights differ');

  // Other settings cannot continue the run.
  await assert.rejects(run({ lr: 1e-3, outputDir: join(root, 'resumed'), resume: true }), /cannot resume/);
});

test('a run whose state is lost goes on from its saved model: the same step, schedule and data, fresh AdamW moments', async (t) => {
  const { root, cacheDir, run, straight } = await straightRun(t);
  const first = await run({ outputDir: join(root, 'lost'), maxSteps: 4 });
  first.model.dispose();
  rmSync(join(root, 'lost', 'last'), { recursive: true });
  const from = join(root, 'lost', 'model');
  await assert.rejects(run({ lr: 1e-3, outputDir: join(root, 'other'), continueFrom: from }), /cannot continue from .*give the same settings/);
  const next = await run({ outputDir: join(root, 'continued'), continueFrom: from });
  next.model.dispose();
  assert.equal(next.summary.steps, 8);
  assert.equal(next.summary.completed, true);

  const at = (h: typeof straight.history, step: number) => h.find((r) => r.step === step && r.loss !== undefined)!;
  const upTo4 = (h: typeof straight.history) => h.filter((r) => r.step <= 4).map(({ step, loss, lr, evalLoss }) => ({ step, loss, lr, evalLoss }));
  assert.deepEqual(upTo4(next.history), upTo4(straight.history), 'the history so far is carried over');
  assert.deepEqual(next.history.filter((r) => r.step <= 4), first.history, 'as it was recorded');
  // Step 5 starts from the same weights (saved as float32) on the same windows, masks and dropout.
  assert.equal(at(next.history, 5).loss, at(straight.history, 5).loss);
  assert.equal(at(next.history, 5).lr, at(straight.history, 5).lr);
  // From step 6 the fresh moments take another path.
  assert.notEqual(at(next.history, 6).loss, at(straight.history, 6).loss);
  const record = JSON.parse(readFileSync(join(root, 'continued', 'model', 'pretraining.json'), 'utf8'));
  assert.deepEqual(record.continuations, [{ step: 4, from }]);
  assert.equal(record.summary.train_seconds > first.summary.train_seconds, true);
});

test('a resumed run keeps its cadence (evaluation, logging, saving, snapshots, fp16) unless given again', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'finetune-lab-pretrain-cadence-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const texts = pretrainingText().slice(0, 120);
  const cadence = { evalEvery: 3, logEvery: 2, saveEvery: 1, snapshotEvery: 4, fp16: true };
  const { logEvery, evalEvery, saveEvery, ...settings } = PRETRAIN;
  const run = { ...settings, texts, cacheDir: join(root, 'cache') };
  const straight = await pretrain({ ...run, ...cadence, outputDir: join(root, 'straight') });
  straight.model.dispose();
  const first = await pretrain({ ...run, ...cadence, outputDir: join(root, 'resumed'), maxSteps: 5 });
  first.model.dispose();
  const second = await pretrain({ ...run, outputDir: join(root, 'resumed'), resume: true });
  second.model.dispose();
  const points = (h: typeof straight.history) => h.map(({ step, loss, evalLoss }) => [step, loss !== undefined, evalLoss !== undefined]);
  assert.deepEqual(points(second.history), points(straight.history));
  assert.deepEqual(readdirSync(join(root, 'resumed', 'snapshots')), ['step-4', 'step-8']);
  const weights = (dir: string) => readFileSync(join(root, dir, 'model', 'model.safetensors'));
  assert.ok(weights('resumed').equals(weights('straight')), 'same float16 weights');
  assert.match(weights('resumed').subarray(0, 400).toString(), /"dtype":"F16"/);
  // A flag given again wins, and is kept for the next resume.
  const third = await pretrain({ ...run, steps: 8, outputDir: join(root, 'resumed'), resume: true, logEvery: 4 });
  third.model.dispose();
  assert.deepEqual(JSON.parse(readFileSync(join(root, 'resumed', 'last', 'trainer_state.json'), 'utf8')).cadence, { ...cadence, snapshotMinutes: 0, logEvery: 4 });
});

test('bag-of-words labels: each window spreads 1 evenly over its distinct non-special tokens', async () => {
  await initBackend({ backend: 'wasm', quiet: true });
  const tokenizer = await BertTokenizer.fromPretrained('bert-base-uncased');
  const vocab = maskingVocab(tokenizer);
  const windows = [tokenizer.encode('the film , the film !').input_ids[0], tokenizer.encode('great').input_ids[0]];
  const targets = bagOfWordsTargets(windows, vocab);
  assert.deepEqual(targets.shape, [2, tokenizer.vocabSize]);
  const rows = (await targets.array()) as number[][];
  targets.dispose();
  const words = (row: number[]) => Object.fromEntries(row.flatMap((p, id) => (p > 0 ? [[tokenizer.convertIdsToTokens([id])[0], p]] : [])));
  assert.deepEqual(words(rows[0]), { the: 0.25, film: 0.25, ',': 0.25, '!': 0.25 });
  assert.deepEqual(words(rows[1]), { great: 1 });
});

test('continued pretraining with the bag-of-words objective: starts from the model, trains a pooler, resumes exactly', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'finetune-lab-pretrain-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const texts = pretrainingText().slice(0, 120);
  const cacheDir = join(root, 'cache');
  const base = await pretrain({ ...PRETRAIN, steps: 4, texts, cacheDir, outputDir: join(root, 'base') });
  base.model.dispose();
  const init = join(root, 'base', 'model');
  const CONTINUED = { ...PRETRAIN, size: undefined, init, bagOfWords: true, lr: 1e-2, steps: 12, evalEvery: 6, texts, cacheDir };
  const straight = await pretrain({ ...CONTINUED, outputDir: join(root, 'straight') });
  straight.model.dispose();
  const first = await pretrain({ ...CONTINUED, outputDir: join(root, 'resumed'), maxSteps: 5 });
  first.model.dispose();
  const resumed = await pretrain({ ...CONTINUED, outputDir: join(root, 'resumed'), resume: true });
  resumed.model.dispose();

  assert.equal(straight.summary.objective, 'mlm+bow');
  assert.equal(straight.summary.size, 'L1-H32-A2-I128');
  // It starts where the base run ended: the same held-out score before its first step.
  assert.equal(Math.round(straight.history[0].evalLoss! * 1e4) / 1e4, base.summary.mlm_loss);
  const bow = straight.history.filter((r) => r.bowLoss !== undefined).map((r) => r.bowLoss!);
  assert.equal(bow.length, 12);
  assert.ok(bow.slice(-3).reduce((a, b) => a + b) < bow.slice(0, 3).reduce((a, b) => a + b) - 0.3, `the bag-of-words loss falls: ${bow.map((x) => x.toFixed(2))}`);
  const losses = (h: typeof straight.history) => h.map(({ step, loss, bowLoss, evalLoss }) => ({ step, loss, bowLoss, evalLoss }));
  assert.deepEqual(losses(resumed.history), losses(straight.history));
  const weights = (dir: string) => readFileSync(join(root, dir, 'model', 'model.safetensors'));
  assert.ok(weights('straight').equals(weights('resumed')), 'final weights differ');

  // The trained pooler is saved: a classifier built on the model lacks only its new classifier.
  const classifier = await fromPretrained(join(root, 'straight', 'model'), { task: 'classification', quiet: true });
  classifier.model.dispose();
  assert.deepEqual(classifier.info.missingKeys, ['classifier.weight', 'classifier.bias']);
  // As transformers' BertForMaskedLM (no pooler) it loads with the pooler's weights unused.
  const mlm = await fromPretrained(join(root, 'straight', 'model'), { task: 'mlm', quiet: true });
  mlm.model.dispose();
  assert.deepEqual(mlm.info.unexpectedKeys.sort(), ['bert.pooler.dense.bias', 'bert.pooler.dense.weight']);
  await assert.rejects(pretrain({ ...CONTINUED, size: 'bert-tiny', outputDir: join(root, 'other') }), /differs from .* a run started from a model keeps its size/);
});

test('the saved model loads as BertForMaskedLM and scores the held-out masked tokens as reported', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'finetune-lab-pretrain-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const texts = pretrainingText().slice(0, 120);
  const run = await pretrain({ ...PRETRAIN, steps: 40, lr: 1e-2, saveEvery: 20, evalEvery: 20, texts, cacheDir: null, outputDir: join(root, 'run'), fp16: true });
  const { model, tokenizer, info } = await fromPretrained(join(root, 'run', 'model'), { task: 'mlm', quiet: true });
  t.after(() => { model.dispose(); run.model.dispose(); });
  assert.ok(run.model instanceof BertForMaskedLM);
  assert.deepEqual(info, { missingKeys: [], unexpectedKeys: [] });
  assert.ok(tokenizer, 'the tokenizer is saved with the model');
  assert.equal(JSON.parse(readFileSync(join(root, 'run', 'model', 'config.json'), 'utf8')).dtype, 'float16');
  assert.equal(run.summary.params, model.params.size());
  assert.deepEqual(parseSize(run.summary.size), { layers: 1, hidden: 32, heads: 2, intermediate: 128 });

  // Stored as float16: the same evaluation within rounding of the weights.
  const again = await heldOutMlm(model, tokenizer!, { texts, seqLength: 32, heldOutTexts: 20, sequences: 16, cacheDir: null });
  assert.equal(again.tokens, run.summary.eval_masked_tokens);
  assert.ok(Math.abs(again.loss - run.summary.mlm_loss) < 2e-3, `held-out loss ${again.loss} vs reported ${run.summary.mlm_loss}`);
  const initial = run.history[0];
  assert.ok(initial.evalLoss! - run.summary.mlm_loss > 1, `40 steps should lower the held-out loss by over a nat: ${initial.evalLoss} -> ${run.summary.mlm_loss}`);
  assert.ok(run.summary.mlm_accuracy > initial.evalAccuracy!, `accuracy ${initial.evalAccuracy} -> ${run.summary.mlm_accuracy}`);
  // The in-memory model (float32) gives the reported figure exactly (rounded as reported).
  const exact = await heldOutMlm(run.model, tokenizer!, { texts, seqLength: 32, heldOutTexts: 20, sequences: 16, cacheDir: null });
  assert.equal(Math.round(exact.loss * 1e4) / 1e4, run.summary.mlm_loss);
  assert.equal(Math.round(exact.accuracy * 1e4) / 1e4, run.summary.mlm_accuracy);

  // It predicts a word for [MASK]: the most frequent tokens come first after this little training.
  const enc = tokenizer!.encodeToTensors('the movie was [MASK] .');
  const out = model.forward({ inputIds: enc.input_ids, attentionMask: enc.attention_mask });
  const top = (await tf.topk(out.logits.slice([0, 4, 0], [1, 1, -1]).reshape([-1]), 5).indices.array()) as number[];
  tf.dispose([out.logits, out.lastHiddenState, enc.input_ids, enc.attention_mask, enc.token_type_ids]);
  assert.equal(top.length, 5);
  assert.ok(top.every((id) => !maskingVocab(tokenizer!).specialIds.has(id)), `top predictions ${tokenizer!.convertIdsToTokens(top)}`);
});

/** Runs `finetune-lab ARGS` from the sources; resolves with the exit code and both streams. */
test('finetune-lab pretrain prints a JSON summary last, resumes with the saved settings, and refuses to overwrite or change a run', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'finetune-lab-pretrain-cli-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const output = join(root, 'run');
  const first = await cli(['pretrain', '--size', 'L1-H32-A2', '--steps', '4', '--seq', '32', '--batch', '2', '--eval-every', '0', '--backend', 'wasm', '--output', output]);
  assert.equal(first.code, 0, first.stderr);
  const summary = JSON.parse(first.stdout.trim().split('\n').at(-1)!);
  assert.equal(summary.steps, 4);
  assert.equal(summary.completed, true);
  assert.equal(summary.checkpoint, join(output, 'model'));
  for (const key of ['train_seconds', 'samples_per_s', 'mlm_loss', 'mlm_accuracy', 'params']) assert.equal(typeof summary[key], 'number', key);
  assert.equal(summary.size, 'L1-H32-A2');

  const again = await cli(['pretrain', '--size', 'L1-H32-A2', '--steps', '4', '--output', output]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already holds a pretraining run; continue it with --resume/);
  const changed = await cli(['pretrain', '--resume', output, '--lr', '0.01']);
  assert.equal(changed.code, 1);
  assert.match(changed.stderr, /cannot resume/);
  const resumed = await cli(['pretrain', '--resume', output, '--eval-every', '0', '--backend', 'wasm']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual({ ...JSON.parse(resumed.stdout.trim().split('\n').at(-1)!), train_seconds: 0, samples_per_s: 0, tokens_per_s: 0 }, { ...summary, train_seconds: 0, samples_per_s: 0, tokens_per_s: 0 });
});

test('binaryCrossEntropy: the weighted mean loss and gradient of softplus(x) - y x, as autodiff computes them', async () => {
  await initBackend({ backend: 'wasm', quiet: true });
  const logits = tf.randomNormal([3, 7], 0, 3, 'float32', 5) as tf.Tensor2D;
  const labels = tf.tensor2d([[1, 0, 0, 1, 0, 0, 0], [0, 0, 1, 0, 0, 0, 1], [1, 1, 1, 0, 0, 0, 0]]);
  const weights = tf.tensor2d([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 0, 0, 0]]);
  const reference = tf.valueAndGrad((x: tf.Tensor) => {
    const p = tf.sigmoid(x);
    const terms = tf.neg(tf.add(tf.mul(labels, tf.log(p)), tf.mul(tf.sub(1, labels), tf.log(tf.sub(1, p)))));
    return tf.div(tf.sum(tf.mul(terms, weights)), tf.sum(weights)) as tf.Scalar;
  })(logits);
  const written = tf.valueAndGrad((x: tf.Tensor) => binaryCrossEntropy(x as tf.Tensor2D, labels, weights))(logits);
  assert.ok(Math.abs((await written.value.data())[0] - (await reference.value.data())[0]) < 1e-5);
  const gap = (await tf.max(tf.abs(tf.sub(written.grad, reference.grad))).data())[0];
  assert.ok(gap < 1e-6, `gradient differs by ${gap}`);
  tf.dispose([logits, labels, weights, reference.value, reference.grad, written.value, written.grad]);
});

test("replaced tokens: the generator's samples fill the masked positions, and a sample equal to the original counts as original", async () => {
  await initBackend({ backend: 'wasm', quiet: true });
  const tokenizer = await BertTokenizer.fromPretrained('bert-base-uncased');
  const vocab = maskingVocab(tokenizer);
  const ids = tokenizer.encode('a long and rather dull film about nothing at all, which i watched twice anyway').input_ids[0];
  const masked = maskSequence(ids, vocab, mulberry32(5), { probability: 0.5 });
  const batch = mlmBatch([masked], tokenizer.padTokenId);
  const n = masked.positions.length;
  assert.ok(n >= 4);
  const originals = masked.positions.map((p) => ids[p]);
  // Logits that put all the probability on the original at even positions and on token 2000 at odd ones.
  const wanted = originals.map((id, k) => (k % 2 === 0 ? id : 2000));
  const logits = tf.tidy(() => tf.mul(tf.oneHot(tf.tensor1d(wanted, 'int32'), tokenizer.vocabSize), 100).asType('float32')) as tf.Tensor2D;
  const { inputIds, replaced } = replaceTokens(batch, logits, 7);
  const input = ((await inputIds.array()) as number[][])[0];
  const labels = ((await replaced.array()) as number[][])[0];
  assert.deepEqual(masked.positions.map((p) => input[p]), wanted);
  assert.deepEqual(input.filter((_, i) => !masked.positions.includes(i)), ids.filter((_, i) => !masked.positions.includes(i)), 'unmasked tokens stay');
  assert.deepEqual(labels, ids.map((_, i) => { const k = masked.positions.indexOf(i); return k >= 0 && k % 2 === 1 ? 1 : 0; }));
  // Sampling is a function of the seed.
  const flat = tf.zeros([n, tokenizer.vocabSize]) as tf.Tensor2D;
  const draw = async (seed: number) => { const r = replaceTokens(batch, flat, seed); const v = await r.inputIds.data(); tf.dispose([r.inputIds, r.replaced]); return Array.from(v); };
  assert.deepEqual(await draw(11), await draw(11));
  assert.notDeepEqual(await draw(11), await draw(12));
  tf.dispose([inputIds, replaced, logits, flat]);
  disposeBatch(batch);
});

test('the generator shares the embeddings module: the same variables, saved with each model, freed with their owner', async () => {
  await initBackend({ backend: 'wasm', quiet: true });
  const config = sizeConfig(parseSize('L2-H32-A4'), 30522);
  assert.deepEqual(generatorSize(parseSize('bert-mini')), { layers: 1, hidden: 256, heads: 1, intermediate: 256 });
  assert.deepEqual(generatorSize(parseSize('L12-H768-A12')), { layers: 3, hidden: 768, heads: 3, intermediate: 768 });
  const discriminator = new BertForReplacedTokenDetection(config, { seed: 1 });
  const generator = new BertForMaskedLM(sizeConfig(generatorSize(parseSize('L2-H32-A4')), 30522), { seed: 2, embeddingsOf: discriminator });
  assert.equal(generator.bert.embeddings, discriminator.bert.embeddings);
  assert.equal(generator.params.get('bert.embeddings.word_embeddings.weight'), discriminator.params.get('bert.embeddings.word_embeddings.weight'));
  assert.equal(generator.cls.predictions.decoder, discriminator.params.get('bert.embeddings.word_embeddings.weight'), 'the generator\'s decoder is tied to the shared word embeddings');
  assert.notEqual(generator.params.get('bert.encoder.layer.0.attention.self.query.weight'), discriminator.params.get('bert.encoder.layer.0.attention.self.query.weight'));
  generator.dispose();
  assert.equal(discriminator.params.get('bert.embeddings.word_embeddings.weight').isDisposed, false);
  discriminator.dispose();
  assert.throws(() => new BertForMaskedLM(sizeConfig(parseSize('L1-H64-A1'), 30522), { embeddingsOf: new BertForReplacedTokenDetection(config) }), /cannot share embeddings .* hidden_size differ \(32 and 64\)/);
});

test('replaced-token detection resumes exactly, with gradient accumulation: 4 steps + resume to 8 gives the losses and weights of 8 straight steps', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'finetune-lab-pretrain-rtd-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const texts = pretrainingText().slice(0, 120);
  const RTD = { ...PRETRAIN, objective: 'rtd' as const, batchSize: 2, accumulate: 2, texts, cacheDir: join(root, 'cache') };
  const straight = await pretrain({ ...RTD, outputDir: join(root, 'straight') });
  straight.generator!.dispose();
  straight.model.dispose();
  const tensors = tf.memory().numTensors;
  const first = await pretrain({ ...RTD, outputDir: join(root, 'resumed'), maxSteps: 4 });
  first.generator!.dispose();
  first.model.dispose();
  const second = await pretrain({ ...RTD, outputDir: join(root, 'resumed'), resume: true });
  second.generator!.dispose();
  second.model.dispose();
  assert.equal(tf.memory().numTensors, tensors, 'pretraining leaves no tensors behind');
  assert.equal(second.summary.completed, true);
  assert.equal(second.summary.objective, 'rtd');
  assert.equal(second.summary.generator, 'L1-H32-A1-I32');
  const losses = (h: typeof straight.history) => h.map(({ step, loss, rtdLoss, evalLoss, evalRtdLoss, evalRtdAccuracy, evalRtdAuc }) => ({ step, loss, rtdLoss, evalLoss, evalRtdLoss, evalRtdAccuracy, evalRtdAuc }));
  assert.equal(straight.history.filter((r) => r.rtdLoss !== undefined).length, 8);
  assert.equal(straight.history.filter((r) => r.evalRtdAccuracy !== undefined).length, 3);
  assert.deepEqual(losses(second.history), losses(straight.history));
  for (const file of ['model.safetensors', join('generator', 'model.safetensors')]) {
    const weights = (dir: string) => readFileSync(join(root, dir, 'model', file));
    assert.ok(weights('straight').equals(weights('resumed')), `${file} differs`);
  }
  const state = JSON.parse(readFileSync(join(root, 'resumed', 'last', 'trainer_state.json'), 'utf8')) as PretrainState;
  assert.equal(state.trainExamples, 8 * 2 * 2, 'each step trains on accumulate x batch windows');
  assert.deepEqual([state.fingerprint.objective, state.fingerprint.accumulate, state.fingerprint.rtdWeight], ['rtd', 2, 50]);
  await assert.rejects(pretrain({ ...RTD, rtdWeight: 10, outputDir: join(root, 'resumed'), resume: true }), /cannot resume/);
  await assert.rejects(pretrain({ ...RTD, generator: 'L1-H64-A1', outputDir: join(root, 'other') }), /as wide as the model \(hidden 32\)/);
  await assert.rejects(pretrain({ ...RTD, bagOfWords: true, outputDir: join(root, 'other') }), /leave out bagOfWords or use objective mlm/);
  await assert.rejects(pretrain({ ...PRETRAIN, generator: 'L1-H32-A1', texts, outputDir: join(root, 'other') }), /generator is a setting of the rtd objective/);
});

test('replaced-token detection learns on a tiny corpus; the model loads as a BERT, the generator as a masked-LM, and the held-out figures are reproducible', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'finetune-lab-pretrain-rtd-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const texts = pretrainingText().slice(0, 120);
  const run = await pretrain({ ...PRETRAIN, objective: 'rtd', steps: 40, lr: 1e-2, dropout: 0, saveEvery: 40, evalEvery: 40, texts, cacheDir: null, outputDir: join(root, 'run') });
  t.after(() => { run.generator!.dispose(); run.model.dispose(); });
  const train = run.history.filter((r) => r.rtdLoss !== undefined);
  const mean = (rs: typeof train, key: 'loss' | 'rtdLoss') => rs.reduce((a, r) => a + r[key]!, 0) / rs.length;
  assert.ok(mean(train.slice(-5), 'rtdLoss') < mean(train.slice(0, 5), 'rtdLoss') - 0.1, `the RTD loss falls: ${train.map((r) => r.rtdLoss!.toFixed(3))}`);
  assert.ok(mean(train.slice(-5), 'loss') < mean(train.slice(0, 5), 'loss') - 1, `the generator's MLM loss falls: ${train.map((r) => r.loss!.toFixed(2))}`);
  const [start, end] = [run.history[0], run.history.at(-1)!];
  assert.ok(end.evalRtdLoss! < start.evalRtdLoss! - 0.1, `held-out RTD loss ${start.evalRtdLoss} -> ${end.evalRtdLoss}`);
  assert.equal(run.summary.rtd_accuracy, Math.round(end.evalRtdAccuracy! * 1e4) / 1e4);
  assert.equal(run.summary.rtd_auc, Math.round(end.evalRtdAuc! * 1e4) / 1e4);

  // Trained without dropout, saved with BERT's 0.1 for fine-tuning.
  assert.deepEqual([run.model.config.hidden_dropout_prob, run.generator!.config.attention_probs_dropout_prob], [0, 0]);
  const dir = join(root, 'run', 'model');
  for (const d of [dir, join(dir, 'generator')]) {
    const config = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
    assert.deepEqual([config.hidden_dropout_prob, config.attention_probs_dropout_prob], [0.1, 0.1]);
  }
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).architectures, ['BertForReplacedTokenDetection']);
  // Loaders that do not know the head report it unused; the classifier lacks its pooler and classifier, as after MLM.
  const classifier = loadCheckpoint(dir, 'classification', { quiet: true });
  classifier.model.dispose();
  assert.deepEqual(classifier.info.unexpectedKeys.sort(), ['discriminator_predictions.dense.bias', 'discriminator_predictions.dense.weight', 'discriminator_predictions.dense_prediction.bias', 'discriminator_predictions.dense_prediction.weight']);
  assert.deepEqual(classifier.info.missingKeys, ['bert.pooler.dense.weight', 'bert.pooler.dense.bias', 'classifier.weight', 'classifier.bias']);
  for (const [task, missing] of [['base', /^bert\.pooler\./], ['mlm', /^cls\.predictions\./]] as const) {
    const { model, info } = loadCheckpoint(dir, task, { quiet: true });
    model.dispose();
    assert.deepEqual(info.unexpectedKeys.sort(), classifier.info.unexpectedKeys.sort(), task);
    assert.ok(info.missingKeys.length > 0 && info.missingKeys.every((k) => missing.test(k)), `${task} lacks ${info.missingKeys}`);
  }
  const discriminator = loadCheckpoint(dir, 'rtd', { quiet: true });
  const generator = await fromPretrained(join(dir, 'generator'), { task: 'mlm', quiet: true });
  t.after(() => { discriminator.model.dispose(); generator.model.dispose(); });
  assert.deepEqual(discriminator.info, { missingKeys: [], unexpectedKeys: [] });
  assert.deepEqual(generator.info, { missingKeys: [], unexpectedKeys: [] });
  assert.ok(generator.tokenizer, 'the generator has its tokenizer');
  assert.equal(generator.model.config.num_hidden_layers, 1);
  const same = (name: string) => tf.tidy(() => tf.max(tf.abs(tf.sub(discriminator.model.params.get(name), generator.model.params.get(name)))).dataSync()[0]);
  assert.equal(same('bert.embeddings.word_embeddings.weight'), 0, 'the generator has its own copy of the shared embeddings');
  assert.equal(same('bert.embeddings.LayerNorm.weight'), 0);

  // The saved pair scores the held-out set exactly as the run reported (float32, fixed masks and samples).
  const tokenizer = generator.tokenizer!;
  const corpus = buildCorpus(texts, tokenizer, { seqLength: 32, heldOutTexts: 20, cacheDir: null });
  const again = await evaluateMlm(generator.model, heldOutSequences(corpus, maskingVocab(tokenizer), 16), { batchSize: 4, padTokenId: tokenizer.padTokenId, discriminator: discriminator.model });
  assert.equal(Math.round(again.loss * 1e4) / 1e4, run.summary.mlm_loss);
  assert.equal(Math.round(again.rtd!.accuracy * 1e4) / 1e4, run.summary.rtd_accuracy);
  assert.equal(Math.round(again.rtd!.replacedAccuracy * 1e4) / 1e4, run.summary.rtd_replaced_accuracy);
  assert.equal(Math.round(again.rtd!.auc * 1e4) / 1e4, run.summary.rtd_auc);
  // The discriminator's logits: one per token.
  const out = discriminator.model.forward({ inputIds: [[101, 1996, 3185, 102]] }, EVAL);
  assert.deepEqual(out.logits.shape, [1, 4]);
  tf.dispose([out.logits, out.lastHiddenState]);
});

test('rocAuc is the Mann-Whitney statistic, ties counting half, as scikit-learn computes it', () => {
  assert.equal(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.75);
  assert.equal(rocAuc([1, 0, 1, 0], [0.5, 0.5, 0.9, 0.1]), 0.875);
  assert.equal(rocAuc([0, 1], [1, 0]), 0);
  assert.ok(Number.isNaN(rocAuc([1, 1], [0.2, 0.3])));
});

test('the discriminator learns to detect replacements it can tell apart: a generator that always samples one rare token', async () => {
  await initBackend({ backend: 'wasm', quiet: true });
  const tokenizer = await BertTokenizer.fromPretrained('bert-base-uncased');
  const vocab = maskingVocab(tokenizer);
  const corpus = buildCorpus(pretrainingText().slice(0, 120), tokenizer, { seqLength: 32, heldOutTexts: 20, cacheDir: null });
  const size = parseSize('L1-H32-A2');
  const discriminator = new BertForReplacedTokenDetection(sizeConfig(size, tokenizer.vocabSize), { seed: 1 });
  const generator = new BertForMaskedLM(sizeConfig(generatorSize(size), tokenizer.vocabSize), { seed: 2, embeddingsOf: discriminator });
  const rare = tokenizer.convertTokensToIds(['zeppelin'])[0];
  generator.cls.predictions.bias.assign(tf.mul(tf.oneHot(rare, tokenizer.vocabSize), 100).asType('float32'));
  const params = discriminator.params.trainable();
  const optimizer = new AdamW(params, { lr: 1e-2 });
  const evalSet = heldOutSequences(corpus, vocab, 16);
  const score = async () => (await evaluateMlm(generator, evalSet, { batchSize: 8, padTokenId: tokenizer.padTokenId, discriminator })).rtd!;
  const before = await score();
  for (let step = 0; step < 20; step++) {
    const batch = mlmBatch(Array.from({ length: 8 }, (_, r) => maskSequence(Array.from(corpus.train.row(step * 8 + r)), vocab, mulberry32(step * 8 + r))), tokenizer.padTokenId);
    await trainStep((_, context) => replacedTokenLoss(discriminator, generator, batch, context, { seed: samplingSeed(3, step), weight: 1 }), {
      optimizer, params, lr: 1e-2, dropoutSeed: 4, step, maxGradNorm: 1, nonFinite: (loss) => `loss ${loss}`,
    });
    disposeBatch(batch);
  }
  const after = await score();
  optimizer.dispose();
  generator.dispose();
  discriminator.dispose();
  assert.ok(before.replaced > 50 && after.replaced === before.replaced, `the generator replaced ${before.replaced} and ${after.replaced} tokens`);
  const shown = `loss ${before.loss.toFixed(3)} -> ${after.loss.toFixed(3)}, accuracy ${before.accuracy.toFixed(3)} -> ${after.accuracy.toFixed(3)}, AUC ${before.auc.toFixed(3)} -> ${after.auc.toFixed(3)}`;
  assert.ok(before.loss > 0.6 && before.accuracy < 0.8, `a fresh discriminator guesses: ${shown}`);
  assert.ok(after.loss < 0.1 && after.accuracy > 0.98 && after.replacedAccuracy > 0.95 && after.auc > 0.99, `it learned to tell them apart: ${shown}`);
});

test('learning-rate schedules: one-cycle as PyTorch OneCycleLR, and an unknown total keeps the peak after the warm-up', () => {
  assert.ok(Math.abs(oneCycleSchedule(0, 100, 10) - 1 / 25) < 1e-12);
  assert.equal(oneCycleSchedule(10, 100, 10), 1);
  assert.ok(Math.abs(oneCycleSchedule(55, 100, 10) - (1 + 1 / 25 / 1e4) / 2) < 1e-12, 'half-way down the cosine');
  assert.ok(Math.abs(oneCycleSchedule(100, 100, 10) - 1 / 25 / 1e4) < 1e-12);
  assert.equal(scheduleFactor('linear', 5, undefined, 10), 0.5);
  assert.equal(scheduleFactor('linear', 50, undefined, 10), 1);
  assert.equal(scheduleFactor('one-cycle', 50, undefined, 10), 1);
  assert.equal(scheduleFactor('linear', 30, 50, 10), 0.5);
  assert.equal(scheduleFactor('one-cycle', 5, 50, 10), oneCycleSchedule(5, 1000, 10), 'the warm-up does not depend on the total');
});

test('a time budget becomes steps at the measured speed, once; a larger budget on resume extends the decay, not the warm-up; snapshots every M minutes', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'finetune-lab-pretrain-budget-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const texts = pretrainingText().slice(0, 120);
  const { steps: _, ...settings } = PRETRAIN;
  const run = { ...settings, evalEvery: 0, saveEvery: 0, warmupSteps: 3, schedule: 'one-cycle' as const, texts, cacheDir: join(root, 'cache'), outputDir: join(root, 'run') };
  // A budget too small for a single step: the run ends once it has measured its speed.
  const first = await pretrain({ ...run, budgetHours: 1e-9, snapshotMinutes: 1e-4 });
  first.model.dispose();
  const stateFile = join(root, 'run', 'last', 'trainer_state.json');
  const measured = JSON.parse(readFileSync(stateFile, 'utf8')) as PretrainState;
  assert.equal(measured.globalStep, 11, 'one step to compile, ten timed');
  assert.equal(measured.budget!.steps, 0);
  assert.ok(measured.budget!.secondsPerStep! > 0);
  assert.equal(first.summary.completed, true);
  assert.equal(measured.fingerprint.steps, undefined);
  const lrs = first.history.filter((r) => r.lr !== undefined).map((r) => r.lr!);
  assert.deepEqual(lrs.slice(3), new Array(8).fill(PRETRAIN.lr), 'while measuring, the peak follows the warm-up');
  const snapshots = readdirSync(join(root, 'run', 'snapshots'));
  assert.ok(snapshots.length > 0 && snapshots.every((name) => /^step-\d+-\d+\.\d\dh$/.test(name)), `snapshots ${snapshots}`);

  // A budget of 16 steps at that speed (a hair more, against rounding), given on resume.
  const hours = (16.5 * measured.budget!.secondsPerStep!) / 3600;
  const second = await pretrain({ ...run, budgetHours: hours, resume: true });
  second.model.dispose();
  const extended = JSON.parse(readFileSync(stateFile, 'utf8')) as PretrainState;
  assert.equal(extended.globalStep, 16);
  assert.deepEqual(extended.budget, { ...measured.budget, hours, steps: 16, changes: [{ step: 11, hours }] });
  assert.deepEqual(JSON.parse(readFileSync(join(root, 'run', 'model', 'pretraining.json'), 'utf8')).budget, extended.budget, 'the model says how long it was trained');
  assert.equal(second.summary.budget_hours, hours);
  const lr = second.history.filter((r) => r.lr !== undefined).map((r) => r.lr!);
  assert.deepEqual(lr.slice(11), [11, 12, 13, 14, 15].map((s) => PRETRAIN.lr * oneCycleSchedule(s, 16, 3)));
  // Resumed again without a budget, it keeps the one it has and is done.
  const third = await pretrain({ ...run, resume: true });
  third.model.dispose();
  assert.equal(third.summary.steps, 16);
  await assert.rejects(pretrain({ ...run, steps: 20, resume: true }), /cannot resume/);
});

test('finetune-lab pretrain --objective rtd with the recipe flags: saved in the run, kept on resume', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'finetune-lab-pretrain-cli-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const output = join(root, 'run');
  const first = await cli(['pretrain', '--objective', 'rtd', '--size', 'L1-H32-A2', '--generator', 'L1-H32-A2-I64', '--rtd-weight', '20', '--steps', '3', '--seq', '32', '--batch', '2',
    '--accumulate', '2', '--dropout', '0', '--clip', '0.5', '--schedule', 'one-cycle', '--warmup-steps', '1', '--eval-every', '0', '--backend', 'wasm', '--output', output]);
  assert.equal(first.code, 0, first.stderr);
  const summary = JSON.parse(first.stdout.trim().split('\n').at(-1)!);
  assert.deepEqual([summary.objective, summary.generator, summary.accumulate, summary.steps], ['rtd', 'L1-H32-A2-I64', 2, 3]);
  for (const key of ['mlm_loss', 'rtd_loss', 'rtd_accuracy', 'rtd_replaced_accuracy', 'rtd_auc', 'generator_params']) assert.equal(typeof summary[key], 'number', key);
  const { fingerprint } = JSON.parse(readFileSync(join(output, 'last', 'trainer_state.json'), 'utf8')) as PretrainState;
  assert.deepEqual(
    [fingerprint.objective, fingerprint.generator, fingerprint.rtdWeight, fingerprint.dropout, fingerprint.accumulate, fingerprint.maxGradNorm, fingerprint.schedule, fingerprint.warmupSteps, fingerprint.warmupRatio],
    ['rtd', 'L1-H32-A2-I64', 20, 0, 2, 0.5, 'one-cycle', 1, undefined],
  );
  const resumed = await cli(['pretrain', '--resume', output, '--eval-every', '0', '--backend', 'wasm']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(JSON.parse(resumed.stdout.trim().split('\n').at(-1)!).rtd_accuracy, summary.rtd_accuracy);
  const both = await cli(['pretrain', '--steps', '2', '--budget-hours', '1']);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /give --steps N or --budget-hours H, not both/);
});
