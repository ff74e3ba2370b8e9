/**
 * `exportOnnx`: a task model (with its adapter, if any) as an ONNX model in the directory layout
 * that transformers.js and Optimum use:
 *
 *   DIR/config.json                 the model's config (model_type "bert", id2label, label2id, architectures)
 *   DIR/tokenizer.json, tokenizer_config.json, vocab.txt
 *   DIR/onnx/model.onnx             opset 17, IR 8, float32 weights as initializers
 *   DIR/onnx/model_quantized.onnx   (with `quantize`) the weight tables in int8
 *
 * The graph's inputs are int64 `input_ids`, `attention_mask`, `token_type_ids` `[batch_size,
 * sequence_length]`; its outputs are named after the task, as Optimum names them.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { configJson } from '../bert/config.js';
import { classifierPooling } from '../bert/pooling.js';
import { ARCHITECTURES, BertArticleClassifier, BertForMaskedLM, BertForPreTraining, BertForSequenceClassification, type BertTaskModel } from '../bert/heads.js';
import { writeDirectoryAtomic, writeFileAtomic } from '../files/atomic.js';
import { PROJECT_ROOT } from '../package/root.js';
import type { BertTokenizer } from '../tokenizer/index.js';
import { BertGraphWriter, type EncoderValues } from './bert-graph.js';
import { GraphBuilder, type Dim } from './graph.js';
import { ONNX_INPUTS, ONNX_MODEL_FILE, ONNX_QUANTIZED_FILE, ONNX_TASKS, OPSET, type OnnxTask } from './layout.js';
import { DataType, encodeModel } from './proto.js';

export interface ExportOptions {
  /** The tokenizer written beside the model (transformers.js reads tokenizer.json and tokenizer_config.json). */
  tokenizer: BertTokenizer;
  /** Default: the model's own task (a classifier's sequence-classification, an MLM's fill-mask, a BertModel's feature-extraction). */
  task?: OnnxTask;
  /** Replace a directory that is not empty. Default false. */
  overwrite?: boolean;
  /** Also write `onnx/model_quantized.onnx`: the Linear weights and embedding tables in int8 (quantize.ts; about 4x smaller, less exact). Default false. */
  quantize?: boolean;
}

/** What `exportOnnx` wrote. */
export interface ExportResult {
  task: OnnxTask;
  dir: string;
  /** The model file, `DIR/onnx/model.onnx`. */
  model: string;
  /** Its size in bytes. */
  bytes: number;
  /** The int8 variant, when asked for. */
  quantized?: { model: string; bytes: number };
  inputs: string[];
  outputs: string[];
}

type Classifier = BertForSequenceClassification | BertArticleClassifier;
const isClassifier = (model: BertTaskModel): model is Classifier => model instanceof BertForSequenceClassification || model instanceof BertArticleClassifier;
const hasMlmHead = (model: BertTaskModel): model is BertForMaskedLM | BertForPreTraining => model instanceof BertForMaskedLM || model instanceof BertForPreTraining;

/** The task a model exports to when none is asked for. */
export function defaultTask(model: BertTaskModel): OnnxTask {
  return isClassifier(model) ? 'sequence-classification' : hasMlmHead(model) ? 'fill-mask' : 'feature-extraction';
}

/** The transformers class whose outputs the exported graph gives (config.json's `architectures`). */
function exportedArchitecture(model: BertTaskModel, task: OnnxTask): string {
  return task === 'sequence-classification' ? model.architecture : task === 'fill-mask' ? ARCHITECTURES.mlm : ARCHITECTURES.base;
}

/** The graph for `task`: the encoder, then the task's head; its outputs with their axes (the encoder's too with `encoderOutputs`). */
function writeGraph(model: BertTaskModel, task: OnnxTask, g: GraphBuilder, quantize: boolean, encoderOutputs: boolean): string[] {
  const { config } = model;
  const axes: Dim[] = ['batch_size', 'sequence_length'];
  const [inputIds, attentionMask, tokenTypeIds] = ONNX_INPUTS.map((name) => g.input(name, DataType.INT64, axes));
  const writer = new BertGraphWriter(g, config, quantize);
  const encoded = writer.encoder(model.bert, { inputIds, attentionMask, tokenTypeIds });
  const head = task === 'feature-extraction' ? undefined : headLogits(model, task, writer, g, encoded, attentionMask);
  // Outputs last: naming a value an output renames it in the nodes written so far.
  if (head) g.output(head.logits, 'logits', head.dims);
  if (head && !encoderOutputs) return ['logits'];
  g.output(encoded.lastHiddenState, 'last_hidden_state', [...axes, config.hidden_size]);
  if (encoded.poolerOutput) g.output(encoded.poolerOutput, 'pooler_output', ['batch_size', config.hidden_size]);
  return [...(head ? ['logits'] : []), 'last_hidden_state', ...(encoded.poolerOutput ? ['pooler_output'] : [])];
}

/** The head's logits for a fill-mask or sequence-classification graph, and their axes. */
function headLogits(model: BertTaskModel, task: Exclude<OnnxTask, 'feature-extraction'>, writer: BertGraphWriter, g: GraphBuilder, encoded: EncoderValues, attentionMask: string): { logits: string; dims: Dim[] } {
  const { config } = model;
  if (task === 'fill-mask') {
    if (!hasMlmHead(model)) throw new Error(`a ${model.architecture} has no masked-language-model head, so it cannot export for fill-mask; load the checkpoint as task 'mlm', or export task 'feature-extraction'`);
    return { logits: writer.mlmLogits(model.cls.predictions, encoded.lastHiddenState), dims: ['batch_size', 'sequence_length', config.vocab_size] };
  }
  if (!isClassifier(model)) {
    throw new Error(`a ${model.architecture} is not a classifier, so it cannot export for sequence-classification; export a BertForSequenceClassification or BertArticleClassifier, or choose task 'feature-extraction'${hasMlmHead(model) ? " or 'fill-mask'" : ''}`);
  }
  const dims: Dim[] = ['batch_size', Object.keys(config.id2label).length];
  if (model instanceof BertForSequenceClassification) return { logits: writer.linear(model.classifier, encoded.poolerOutput as string), dims };
  const pooled = classifierPooling(config) === 'mean' ? writer.meanPool(encoded.lastHiddenState, attentionMask) : (encoded.poolerOutput as string);
  // The article's head ends in log-softmax: softmax over these "logits" gives its probabilities all the same.
  const hidden = g.node('Relu', [writer.linear(model.fc1, pooled)], { name: 'fc1/Relu' });
  return { logits: g.node('LogSoftmax', [writer.linear(model.fc2, hidden)], { name: 'LogSoftmax', attributes: { axis: { int: -1 } } }), dims };
}

/** The task's ONNX graph as `.onnx` bytes and its output names. */
export interface OnnxGraph {
  bytes: Uint8Array;
  outputs: string[];
}

/**
 * The model's graph for `task` as `.onnx` bytes, without writing anything: what `exportOnnx` writes
 * and what an ONNX Runtime session can open directly (src/onnx/model.ts). `encoderOutputs` also
 * outputs `last_hidden_state` (and `pooler_output`) beside a head's `logits`.
 */
export async function onnxGraph(model: BertTaskModel, task: OnnxTask, options: { quantize?: boolean; encoderOutputs?: boolean } = {}): Promise<OnnxGraph> {
  if (!(ONNX_TASKS as readonly string[]).includes(task)) throw new Error(`unknown ONNX task ${JSON.stringify(task)}; use one of ${ONNX_TASKS.join(', ')}`);
  const quantize = options.quantize ?? false;
  const version = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const g = new GraphBuilder(`${exportedArchitecture(model, task)} (${task}${quantize ? ', int8 weights' : ''})`);
  let outputs: string[];
  try {
    outputs = writeGraph(model, task, g, quantize, options.encoderOutputs ?? false);
  } catch (err) {
    g.dispose();
    throw err;
  }
  const docString = `${model.architecture} exported by finetune-lab for ${task}${quantize ? ', Linear weights in int8' : ''}`;
  return { bytes: encodeModel(await g.model({ opset: OPSET, producerVersion: version, docString })), outputs };
}

/**
 * Writes the model as ONNX, with its config and tokenizer, into `dir` (atomically: a crash leaves
 * the old directory or the new one). LoRA is folded into the weights (the model itself is left
 * as it is); bottleneck adapters become nodes. Throws, naming the fix, for a task the model has
 * no head for, or a `dir` that holds something (unless `overwrite`).
 */
export async function exportOnnx(model: BertTaskModel, dir: string, options: ExportOptions): Promise<ExportResult> {
  const task = options.task ?? defaultTask(model);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new Error(`${dir} is a file; choose a directory for the export`);
  if (existsSync(dir) && readdirSync(dir).length > 0 && !options.overwrite) {
    throw new Error(`${dir} exists and is not empty; choose a new output directory, empty this one, or pass overwrite (--overwrite) to replace it`);
  }
  const variants = options.quantize ? [false, true] : [false];
  const files: { file: string; bytes: Uint8Array }[] = [];
  let outputs: string[] = [];
  for (const quantize of variants) {
    const graph = await onnxGraph(model, task, { quantize });
    outputs = graph.outputs;
    files.push({ file: quantize ? ONNX_QUANTIZED_FILE : ONNX_MODEL_FILE, bytes: graph.bytes });
  }
  // transformers.js' pipelines read the label names from config.json: write them even where configJson leaves out the default ones.
  const { id2label } = model.config;
  const label2id = Object.fromEntries(Object.entries(id2label).map(([i, label]) => [label, Number(i)]));
  const config = { ...configJson({ ...model.config, architectures: [exportedArchitecture(model, task)] }), id2label, label2id };
  await writeDirectoryAtomic(dir, (tmp) => {
    for (const { file, bytes } of files) writeFileAtomic(join(tmp, file), bytes);
    writeFileAtomic(join(tmp, 'config.json'), JSON.stringify(Object.fromEntries(Object.entries(config).sort(([a], [b]) => a.localeCompare(b))), null, 2) + '\n');
    options.tokenizer.save(tmp);
  });
  const [float, quantized] = files.map(({ file, bytes }) => ({ model: join(dir, file), bytes: bytes.length }));
  return { task, dir, ...float, ...(quantized ? { quantized } : {}), inputs: [...ONNX_INPUTS], outputs };
}
