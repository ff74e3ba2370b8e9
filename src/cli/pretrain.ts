/** `finetune-lab pretrain`: masked-language-model (or ELECTRA's replaced-token-detection) pretraining of a BERT from scratch, resumable. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BACKEND_NAMES, initBackend } from '../backend/index.js';
import { backendOptions, loadSettings } from '../course/settings.js';
import { resolveModelPath } from '../package/root.js';
import { EMBEDDING_INITS, MODEL_SIZES, modelRunSettings, parseSize, pretrain, PRETRAIN_OBJECTIVES, savedRunSettings, type PretrainOptions } from '../pretrain/index.js';
import { SCHEDULES } from '../train/step.js';
import { choice, integer, number, parseCommand, UsageError, validate } from './args.js';
import { exitCode, stoppable } from './interrupt.js';

export const usage = `Usage: finetune-lab pretrain --steps N [options]
       finetune-lab pretrain --budget-hours H [options]
       finetune-lab pretrain --resume DIR [options]
       finetune-lab pretrain --continue MODEL --output DIR [options]

Pretrains a BERT with the bert-base-uncased vocabulary from random weights (or from a model's,
with --init) by masked-language modelling, or as ELECTRA's discriminator (--objective rtd), on
the IMDB reviews outside the test split, evaluating on held-out reviews. DIR/model gets the
model in the Hugging Face layout (config.json, model.safetensors, tokenizer files,
pretraining.json with the history; with rtd also generator/, the generator as a masked-LM),
DIR/last the state that --resume continues exactly. Ctrl-C stops after the current step and
saves. The last line printed is one JSON object: steps, completed, train_seconds,
samples_per_s, mlm_loss, mlm_accuracy (rtd: the generator's; and rtd_loss, rtd_accuracy,
rtd_replaced_accuracy), checkpoint, size, params, ...

  --size NAME         ${Object.keys(MODEL_SIZES).join('|')} or a shape L4-H256-A4 (default bert-mini)
  --init DIR          start from this model's weights (continued pretraining; its size)
  --bag-of-words      also train the pooled [CLS] vector to predict the window's words
                      (MLM alone leaves [CLS] and the pooler, which classifiers read, untrained)
  --init-embeddings cooccurrence
                      start the word embeddings from co-occurrence vectors (PPMI + SVD) of the
                      training texts instead of random ones (a run from random weights only)
  --objective NAME    ${PRETRAIN_OBJECTIVES.join('|')} (default mlm); rtd: ELECTRA's replaced-token detection
  --generator SHAPE   rtd: the generator's size, as wide as the model (default a quarter of its
                      layers, heads and intermediate size, e.g. L1-H256-A1-I256 for bert-mini)
  --rtd-weight X      rtd: weight of the discriminator's loss (default 50, ELECTRA's)
  --steps N           optimizer steps of the whole run (its learning-rate schedule spans them)
  --budget-hours H    instead of --steps: hours of training; the first steps are timed once and
                      the budget becomes steps; a larger one given with --resume extends the run
  --seq N             tokens per window (default 128)
  --batch N           windows per micro-batch (default 32)
  --accumulate N      sum the gradients of N micro-batches a step (effective batch N x --batch)
  --lr X              peak learning rate (default 5e-4)
  --schedule NAME     ${SCHEDULES.join('|')} (default linear); one-cycle as Cramming, with --lr 1e-3
  --warmup X          share of the steps warming up (default 0.05)
  --warmup-steps N    warm up for N steps instead (default 500 with --budget-hours)
  --dropout P         dropout while pretraining (default 0.1); the saved config keeps 0.1
  --clip X            clip the gradients' global norm at X (default 1; Cramming 0.5; 0: off)
  --seed N            seed of the weights, the data order, the masks and dropout (default 42)
  --whole-word        mask whole words instead of single WordPiece tokens
  --backend NAME      ${BACKEND_NAMES.join('|')}
  --output DIR        where the run goes (default runs/pretrain/SIZE)
  --resume DIR        continue the run in DIR with its settings (cadence and --fp16 included,
                      unless given again)
  --continue MODEL    go on with the run that wrote MODEL (a model directory with its
                      pretraining.json) when that run's state is lost: its settings, step,
                      schedule and data, from MODEL's weights with fresh AdamW moments (not
                      exact, as --resume is; recorded in pretraining.json's continuations)
  --overwrite         start afresh in an --output that holds an earlier run, replacing it
  --eval-every N      held-out evaluation every N steps (default 500; 0: start and end only)
  --save-every N      write DIR/last and DIR/model every N steps (default 500)
  --snapshot-every N  also keep the model at every N steps in DIR/snapshots/step-N
  --snapshot-minutes M  also keep it every M minutes of training in DIR/snapshots/step-N-H.HHh
  --log-every N       print the training loss every N steps (default 50)
  --max-minutes X     stop after X minutes, saved and resumable
  --fp16              store the model's weights as float16 (half the size)
  -h, --help          show this help`;

/** A size name or shape that parseSize reads. */
function sizeName(raw: string): string | undefined {
  try {
    parseSize(raw);
    return raw;
  } catch {
    return undefined;
  }
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand({
    args,
    options: {
      size: { type: 'string' }, init: { type: 'string' }, 'bag-of-words': { type: 'boolean' }, 'init-embeddings': { type: 'string' }, steps: { type: 'string' }, seq: { type: 'string' }, batch: { type: 'string' },
      objective: { type: 'string' }, generator: { type: 'string' }, 'rtd-weight': { type: 'string' }, 'budget-hours': { type: 'string' }, accumulate: { type: 'string' },
      schedule: { type: 'string' }, 'warmup-steps': { type: 'string' }, dropout: { type: 'string' }, clip: { type: 'string' }, 'snapshot-minutes': { type: 'string' },
      lr: { type: 'string' }, warmup: { type: 'string' }, seed: { type: 'string' }, 'whole-word': { type: 'boolean' },
      backend: { type: 'string' }, output: { type: 'string' }, resume: { type: 'string' }, continue: { type: 'string' }, overwrite: { type: 'boolean' },
      'eval-every': { type: 'string' }, 'save-every': { type: 'string' }, 'snapshot-every': { type: 'string' },
      'log-every': { type: 'string' }, 'max-minutes': { type: 'string' }, fp16: { type: 'boolean' },
    },
  });
  const backend = choice('backend', values.backend, BACKEND_NAMES);
  const initEmbeddings = choice('init-embeddings', values['init-embeddings'], EMBEDDING_INITS);
  const size = validate('size', values.size, sizeName, `one of ${Object.keys(MODEL_SIZES).join(', ')} or a shape such as L4-H256-A4`);
  const init = validate('init', values.init, (dir) => (existsSync(resolveModelPath(dir)) ? dir : undefined), 'a model directory');
  if (values.resume && values.output && values.output !== values.resume) throw new UsageError('--resume DIR continues the run in DIR; leave out --output or give the same directory');
  if (values.continue && (values.resume || !values.output)) throw new UsageError('--continue MODEL goes on in a new run directory: give --output DIR (and not --resume)');
  const outputDir = values.resume ?? values.output ?? join('runs', 'pretrain', size ?? 'bert-mini');
  // A resumed run keeps its settings; flags given again must agree (pretrain refuses a change).
  const saved = values.resume ? savedRunSettings(values.resume) : values.continue ? modelRunSettings(values.continue) : undefined;
  if (values.resume && !saved) throw new Error(`${values.resume} holds no pretraining run to resume (no last/trainer_state.json); start one with --output ${values.resume} --steps N`);
  const budgetHours = number('budget-hours', values['budget-hours'], { above: 0 });
  if (budgetHours !== undefined && values.steps !== undefined) throw new UsageError('give --steps N or --budget-hours H, not both');
  // A budgeted run keeps its budget (in its state) unless given a new one.
  const steps = integer('steps', values.steps) ?? (budgetHours === undefined ? saved?.steps : undefined);
  if (steps === undefined && budgetHours === undefined && !(saved && saved.steps === undefined)) throw new UsageError('missing --steps N or --budget-hours H (the length of the run)');
  const wholeWord = values['whole-word'] ?? saved?.masking.wholeWord;

  // FINETUNE_LAB_BACKEND and FINETUNE_LAB_THREADS choose the backend unless --backend does.
  await initBackend(backendOptions(loadSettings(), { backend }));
  const options: PretrainOptions = {
    size: init ? size : size ?? saved?.size,
    init: init ?? saved?.init,
    bagOfWords: values['bag-of-words'] ?? saved?.bagOfWords,
    initEmbeddings: initEmbeddings ?? saved?.initEmbeddings,
    objective: choice('objective', values.objective, PRETRAIN_OBJECTIVES) ?? saved?.objective,
    generator: validate('generator', values.generator, sizeName, 'a shape such as L1-H256-A1-I256') ?? saved?.generator,
    rtdWeight: number('rtd-weight', values['rtd-weight'], { above: 0 }) ?? saved?.rtdWeight,
    dropout: number('dropout', values.dropout, { min: 0, below: 1 }) ?? saved?.dropout,
    steps,
    budgetHours,
    seqLength: integer('seq', values.seq) ?? saved?.seqLength,
    batchSize: integer('batch', values.batch) ?? saved?.batchSize,
    accumulate: integer('accumulate', values.accumulate) ?? saved?.accumulate,
    lr: number('lr', values.lr, { above: 0 }) ?? saved?.lr,
    schedule: choice('schedule', values.schedule, SCHEDULES) ?? saved?.schedule,
    warmupRatio: number('warmup', values.warmup, { min: 0, below: 1 }) ?? saved?.warmupRatio,
    warmupSteps: integer('warmup-steps', values['warmup-steps'], 0) ?? saved?.warmupSteps,
    maxGradNorm: number('clip', values.clip, { min: 0 }) ?? saved?.maxGradNorm,
    seed: integer('seed', values.seed, 0) ?? saved?.seed,
    masking: wholeWord ? { wholeWord } : {},
    backend,
    outputDir,
    resume: Boolean(values.resume),
    continueFrom: values.continue,
    overwrite: values.overwrite,
    evalEvery: integer('eval-every', values['eval-every'], 0),
    saveEvery: integer('save-every', values['save-every'], 0),
    snapshotEvery: integer('snapshot-every', values['snapshot-every'], 0),
    snapshotMinutes: number('snapshot-minutes', values['snapshot-minutes'], { min: 0 }),
    logEvery: integer('log-every', values['log-every']),
    maxSeconds: values['max-minutes'] === undefined ? undefined : 60 * number('max-minutes', values['max-minutes'], { above: 0 }),
    fp16: values.fp16,
  };
  const { value: result, interrupted } = await stoppable((signal) => pretrain({ ...options, signal }));
  result.generator?.dispose();
  result.model.dispose();
  console.log(JSON.stringify(result.summary));
  return exitCode(interrupted);
}
