/** `finetune-lab train`: fine-tunes a BERT classifier with one method and prints a JSON summary. */
import { BACKEND_NAMES, initBackend } from '../backend/index.js';
import { LORA_DEFAULTS } from '../adapters/index.js';
import { backendOptions, loadSettings } from '../course/settings.js';
import { courseFinetuneOptions } from '../course/runs.js';
import { ENGINES } from '../onnx/index.js';
import { finetune, METHODS } from '../finetune/index.js';
import { choice, integer, number, parseCommand, required, UsageError } from './args.js';
import { exitCode, stoppable } from './interrupt.js';
import { RUN_FLAGS, withRunFlags } from './run-flags.js';

export const usage = `Usage: finetune-lab train --method ${METHODS.join('|')} [options]

Trains a classifier on IMDB reviews (or a CSV), evaluates the best epoch on the held-out test
split, saves it, and prints one JSON line: method, trainable_params, total_params, epochs,
train_seconds, train_samples_per_s, val_loss, val_accuracy, test_accuracy, test_f1, checkpoint.

  --model DIR|ID       model directory or Hugging Face Hub id (default: the profile's model)
  --method NAME        frozen (feature extraction), full, adapter (bottleneck) or lora
  --data imdb|FILE     the IMDB reviews (default) or a CSV with text and label columns
  --train-size N       training examples (default from the profile, FINETUNE_LAB_PROFILE)
  --val-size N         validation examples
  --test-size N        test examples, from the held-out split (0: none, validation figures only)
  --epochs N           (default: the profile's for the method)
  --batch-size N
  --micro-batch N      run each batch in parts of N reviews and add up their gradients
                       (gradient accumulation: the same batch with less activation memory)
  --lr X               peak learning rate (default: the profile's for the method, else the method's)
  --max-length N       tokens per review
  --truncation HOW     how a longer review is cut: head (its first tokens) or head+tail (its
                       first and last; default: the profile's, FINETUNE_LAB_TRUNCATION)
  --head-tokens N      with head+tail, the tokens kept from the start (default: a quarter)
  --seed N
  --backend NAME       ${BACKEND_NAMES.join('|')} (default: FINETUNE_LAB_BACKEND, else the best available)
  --engine NAME        ${ENGINES.join('|')}: what computes the frozen features and the final evaluations
                       (training is TensorFlow.js'; default: FINETUNE_LAB_ENGINE, else auto)
  --output DIR         where the best model (DIR/best) and resumable state (DIR/last) go
  --max-minutes X      stop after X minutes of training, saved; --resume continues
  --resume             continue the run saved in --output (also after Ctrl-C, which stops
                       after the current step and saves)
  --overwrite          start afresh in an --output that holds an earlier run, replacing it
  --no-cache-features  frozen method: run the encoder in every step instead of once
  --pooling HOW        frozen method: what its head reads, cls (the pooled [CLS] vector) or mean
                       (the mean of the tokens; default: the profile's, FINETUNE_LAB_POOLING)
  --lora-r N           LoRA rank (default ${LORA_DEFAULTS.r})
  --lora-alpha X       LoRA scale numerator: the update is scaled by alpha / r (default ${LORA_DEFAULTS.lora_alpha})
  --adapter-size N     bottleneck adapter size (default: the profile's, FINETUNE_LAB_ADAPTER_SIZE, else hidden/16)
  -h, --help           show this help`;

export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand({
    args,
    options: {
      ...RUN_FLAGS, method: { type: 'string' }, 'test-size': { type: 'string' }, epochs: { type: 'string' }, lr: { type: 'string' },
      'micro-batch': { type: 'string' }, backend: { type: 'string' }, engine: { type: 'string' }, output: { type: 'string' }, 'max-minutes': { type: 'string' },
      resume: { type: 'boolean' }, overwrite: { type: 'boolean' }, 'no-cache-features': { type: 'boolean' }, 'lora-r': { type: 'string' }, 'lora-alpha': { type: 'string' },
    },
  });
  required(values, ['method']);
  if (values.resume && !values.output) throw new UsageError('--resume needs --output, the directory of the run to continue');
  const settings = loadSettings();
  const r = integer('lora-r', values['lora-r']);
  const alpha = number('lora-alpha', values['lora-alpha'], { above: 0 });
  const maxMinutes = number('max-minutes', values['max-minutes'], { above: 0 });
  if (maxMinutes !== undefined && !values.output) throw new UsageError('--max-minutes needs --output, where the stopped run is saved');
  const method = choice('method', values.method, METHODS);
  const course = withRunFlags(courseFinetuneOptions(settings, method), values);
  const backend = await initBackend(backendOptions(settings, { backend: choice('backend', values.backend, BACKEND_NAMES), quiet: true }));
  const { value: result, interrupted } = await stoppable((signal) => finetune({
    ...course,
    testSize: integer('test-size', values['test-size'], 0) ?? course.testSize,
    epochs: integer('epochs', values.epochs) ?? course.epochs,
    microBatchSize: integer('micro-batch', values['micro-batch']),
    lr: number('lr', values.lr, { above: 0 }) ?? course.lr,
    backend: backend.name,
    outputDir: values.output,
    resume: values.resume,
    overwrite: values.overwrite,
    cacheFeatures: !values['no-cache-features'],
    engine: choice('engine', values.engine, ENGINES) ?? course.engine,
    lora: { r, lora_alpha: alpha },
    maxSeconds: maxMinutes === undefined ? undefined : 60 * maxMinutes,
    signal,
  }));
  if (!result.summary.completed) console.error(`stopped after ${result.summary.steps} steps, saved in ${values.output}/last; continue with --resume`);
  console.log(JSON.stringify(result.summary));
  return exitCode(interrupted);
}
