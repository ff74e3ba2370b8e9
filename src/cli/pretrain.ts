/** `finetune-lab pretrain`: masked-language-model pretraining of a BERT from scratch, resumable. */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BACKEND_NAMES, type BackendName } from '../backend/index.js';
import { MODEL_SIZES, pretrain, savedRunSettings, type PretrainOptions } from '../pretrain/index.js';

const HELP = `Usage: finetune-lab pretrain --steps N [options]
       finetune-lab pretrain --resume DIR [options]

Pretrains a BERT with the bert-base-uncased vocabulary from random weights (or from a model's,
with --init) by masked-language modelling on the IMDB reviews outside the test split,
evaluating MLM loss and accuracy on held-out reviews. DIR/model gets the model in the Hugging
Face layout (config.json, model.safetensors, tokenizer files, pretraining.json with the
history), DIR/last the state
that --resume continues exactly. Ctrl-C stops after the current step and saves. The last
line printed is one JSON object: steps, completed, train_seconds, samples_per_s, mlm_loss,
mlm_accuracy, checkpoint, size, params, ...

  --size NAME         ${Object.keys(MODEL_SIZES).join('|')} or a shape L4-H256-A4 (default bert-mini)
  --init DIR          start from this model's weights (continued pretraining; its size)
  --bag-of-words      also train the pooled [CLS] vector to predict the window's words
                      (MLM alone leaves [CLS] and the pooler, which classifiers read, untrained)
  --steps N           optimizer steps of the whole run (its learning-rate schedule spans them)
  --seq N             tokens per window (default 128)
  --batch N           windows per step (default 32)
  --lr X              peak learning rate (default 5e-4)
  --warmup X          share of the steps warming up (default 0.05)
  --seed N            seed of the weights, the data order, the masks and dropout (default 42)
  --whole-word        mask whole words instead of single WordPiece tokens
  --backend NAME      ${BACKEND_NAMES.join('|')}
  --output DIR        where the run goes (default runs/pretrain/SIZE)
  --resume DIR        continue the run in DIR with its settings (cadence and --fp16 included,
                      unless given again)
  --overwrite         start afresh in an --output that holds an earlier run, replacing it
  --eval-every N      held-out evaluation every N steps (default 500; 0: start and end only)
  --save-every N      write DIR/last and DIR/model every N steps (default 500)
  --snapshot-every N  also keep the model at every N steps in DIR/snapshots/step-N
  --log-every N       print the training loss every N steps (default 50)
  --max-minutes X     stop after X minutes, saved and resumable
  --fp16              store the model's weights as float16 (half the size)
  --help`;

function count(name: string, raw: string | undefined, zeroOk = false): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < (zeroOk ? 0 : 1)) throw new Error(`--${name} must be a whole number${zeroOk ? ' (0 or more)' : ' of at least 1'}, got ${JSON.stringify(raw)}`);
  return value;
}

function positive(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

function share(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!(value >= 0 && value < 1)) throw new Error(`--${name} must be a share from 0 to below 1, got ${JSON.stringify(raw)}`);
  return value;
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      size: { type: 'string' }, init: { type: 'string' }, 'bag-of-words': { type: 'boolean' }, steps: { type: 'string' }, seq: { type: 'string' }, batch: { type: 'string' },
      lr: { type: 'string' }, warmup: { type: 'string' }, seed: { type: 'string' }, 'whole-word': { type: 'boolean' },
      backend: { type: 'string' }, output: { type: 'string' }, resume: { type: 'string' }, overwrite: { type: 'boolean' },
      'eval-every': { type: 'string' }, 'save-every': { type: 'string' }, 'snapshot-every': { type: 'string' },
      'log-every': { type: 'string' }, 'max-minutes': { type: 'string' }, fp16: { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.backend && !BACKEND_NAMES.includes(values.backend as BackendName)) {
    throw new Error(`--backend ${values.backend} is unknown; use one of ${BACKEND_NAMES.join(', ')}`);
  }
  if (values.resume && values.output && values.output !== values.resume) throw new Error('--resume DIR continues the run in DIR; leave out --output or give the same directory');
  const outputDir = values.resume ?? values.output ?? join('runs', 'pretrain', values.size ?? 'bert-mini');
  // A resumed run keeps its settings; flags given again must agree (pretrain refuses a change).
  const saved = values.resume ? savedRunSettings(values.resume) : undefined;
  if (values.resume && !saved) throw new Error(`${values.resume} holds no pretraining run to resume (no last/trainer_state.json); start one with --output ${values.resume} --steps N`);
  const steps = count('steps', values.steps) ?? saved?.steps;
  if (steps === undefined) throw new Error(`pretrain needs --steps N (the length of the run)\n\n${HELP}`);
  const wholeWord = values['whole-word'] ?? saved?.masking.wholeWord;

  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    console.error('stopping after this step and saving (press Ctrl-C again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const options: PretrainOptions = {
    size: values.init ? values.size : values.size ?? saved?.size,
    init: values.init ?? saved?.init,
    bagOfWords: values['bag-of-words'] ?? saved?.bagOfWords,
    steps,
    seqLength: count('seq', values.seq) ?? saved?.seqLength,
    batchSize: count('batch', values.batch) ?? saved?.batchSize,
    lr: positive('lr', values.lr) ?? saved?.lr,
    warmupRatio: share('warmup', values.warmup) ?? saved?.warmupRatio,
    seed: count('seed', values.seed, true) ?? saved?.seed,
    masking: wholeWord ? { wholeWord } : {},
    backend: values.backend as BackendName | undefined,
    outputDir,
    resume: Boolean(values.resume),
    overwrite: values.overwrite,
    evalEvery: count('eval-every', values['eval-every'], true),
    saveEvery: count('save-every', values['save-every'], true),
    snapshotEvery: count('snapshot-every', values['snapshot-every'], true),
    logEvery: count('log-every', values['log-every']),
    maxSeconds: values['max-minutes'] === undefined ? undefined : 60 * positive('max-minutes', values['max-minutes'])!,
    fp16: values.fp16,
    signal: controller.signal,
  };
  try {
    const result = await pretrain(options);
    result.model.dispose();
    console.log(JSON.stringify(result.summary));
    return controller.signal.aborted ? 130 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
