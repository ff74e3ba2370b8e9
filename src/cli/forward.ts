/** `finetune-lab forward`: runs a BERT checkpoint on given token ids and writes its outputs as JSON. */
import { readFileSync } from 'node:fs';
import type * as tf from '@tensorflow/tfjs';
import { BACKEND_NAMES, initBackend } from '../backend/index.js';
import { loadConfig } from '../bert/config.js';
import { taskOfArchitecture, type BertTask } from '../bert/heads.js';
import type { BertInputs, BertOutput } from '../bert/model.js';
import { fromPretrained } from '../bert/pretrained.js';
import { inferenceModel } from '../course/models.js';
import { backendOptions, loadSettings } from '../course/settings.js';
import { ENGINES, OnnxModel } from '../onnx/index.js';
import { resolveModelFiles } from '../hub/index.js';
import { writeFileAtomic } from '../files/atomic.js';
import { choice, existing, parseCommand, required } from './args.js';

export const usage = `Usage: finetune-lab forward --model DIR|ID --input FILE --output FILE [--backend NAME] [--engine NAME] [--mlm]

Runs the model (eval mode) on the token ids in FILE and writes its outputs as JSON.

  --model DIR|ID  a model directory (config.json + model.safetensors) or a Hugging Face Hub id
  --input FILE    JSON {"input_ids": [[...]], "attention_mask": [[...]], "token_type_ids": [[...]]}
                  (attention_mask and token_type_ids are optional, as in transformers)
  --output FILE   where to write {last_hidden_state, pooler_output, logits?, mlm_logits?},
                  each {"shape": [...], "data": [...]} flattened row-major; logits when the
                  checkpoint has a classification head
  --backend NAME  ${BACKEND_NAMES.join('|')} (default: FINETUNE_LAB_BACKEND, else the best available)
  --engine NAME   ${ENGINES.join('|')}: TensorFlow.js or the exported graph on ONNX Runtime
                  (default: FINETUNE_LAB_ENGINE, else auto)
  --mlm           also compute the masked-language-model logits (needs the checkpoint's cls.predictions)
  -h, --help      show this help`;

interface InputFile {
  input_ids: number[][];
  attention_mask?: number[][];
  token_type_ids?: number[][];
}

function readInput(path: string): InputFile {
  const json = JSON.parse(readFileSync(path, 'utf8')) as Partial<InputFile>;
  const isMatrix = (x: unknown) => Array.isArray(x) && x.every((row) => Array.isArray(row) && row.every(Number.isInteger));
  for (const field of ['input_ids', 'attention_mask', 'token_type_ids'] as const) {
    if (json[field] === undefined && field !== 'input_ids') continue;
    if (!isMatrix(json[field])) throw new Error(`${path}: "${field}" must be a list of lists of integers (one row per sequence); see finetune-lab tokenize`);
  }
  return json as InputFile;
}

async function encode(t: tf.Tensor): Promise<{ shape: number[]; data: number[] }> {
  return { shape: t.shape, data: Array.from(await t.data()) };
}

type Outputs = Record<string, { shape: number[]; data: number[] }>;

async function tfjsOutputs(model: { forward(inputs: BertInputs): BertOutput }, input: InputFile): Promise<Outputs> {
  const out = model.forward({ inputIds: input.input_ids, attentionMask: input.attention_mask, tokenTypeIds: input.token_type_ids });
  const result: Outputs = { last_hidden_state: await encode(out.lastHiddenState) };
  if (out.poolerOutput) result.pooler_output = await encode(out.poolerOutput);
  const logits = (out as { logits?: tf.Tensor }).logits;
  if (logits) result.logits = await encode(logits);
  return result;
}

async function onnxOutputs(model: OnnxModel, input: InputFile): Promise<Outputs> {
  const outputs = await model.run(input);
  return Object.fromEntries(Object.entries(outputs).map(([name, { dims, data }]) => [name, { shape: dims, data: Array.from(data) }]));
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand({
    args,
    options: { model: { type: 'string' }, input: { type: 'string' }, output: { type: 'string' }, backend: { type: 'string' }, engine: { type: 'string' }, mlm: { type: 'boolean' } },
  });
  required(values, ['model', 'input', 'output']);
  const settings = loadSettings();
  const backend = await initBackend(backendOptions(settings, { backend: choice('backend', values.backend, BACKEND_NAMES), quiet: true }));
  const input = readInput(existing('input', values.input));

  // The head comes from the checkpoint's class: classification logits where it has a classifier;
  // the MLM head (with BertForPreTraining's pooler where present) when asked for.
  const architecture = loadConfig(await resolveModelFiles(values.model, { files: ['config.json'] })).architectures?.[0] ?? '';
  const saved = taskOfArchitecture(architecture);
  const task: BertTask = values.mlm ? (saved === 'pretraining' ? 'pretraining' : 'mlm') : saved === 'classification' ? 'classification' : 'base';
  const { model, info } = await fromPretrained(values.model, { task, backend: backend.name, quiet: true });
  if (info.missingKeys.length) {
    throw new Error(`${values.model} lacks ${info.missingKeys.join(', ')}, so the outputs would be random; ${values.mlm ? 'drop --mlm or use a checkpoint with the MLM head (cls.predictions)' : 'use a complete checkpoint'}`);
  }
  const runner = await inferenceModel(settings, model, { engine: choice('engine', values.engine, ENGINES), task: values.mlm ? 'fill-mask' : task === 'classification' ? 'sequence-classification' : 'feature-extraction' });
  const result = runner instanceof OnnxModel ? await onnxOutputs(runner, input) : await tfjsOutputs(model, input);
  if (runner instanceof OnnxModel) await runner.release();
  if (values.mlm && result.logits) {
    result.mlm_logits = result.logits;
    delete result.logits;
  }
  writeFileAtomic(values.output, JSON.stringify(result));
  model.dispose();
  return 0;
}
