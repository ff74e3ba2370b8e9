/** `finetune-lab export`: a fine-tuned BERT (full, frozen-feature head, LoRA or bottleneck adapter) as ONNX, in transformers.js' layout. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ADAPTER_CONFIG_FILE, loadAdapter } from '../adapters/index.js';
import { loadConfig } from '../bert/config.js';
import { taskOfArchitecture, type BertTask } from '../bert/heads.js';
import { fromPretrained } from '../bert/pretrained.js';
import { loadSettings } from '../course/settings.js';
import { withTokenizer } from '../finetune/pretrained.js';
import { resolveModelFiles } from '../hub/index.js';
import { exportOnnx, ONNX_TASKS, type OnnxTask } from '../onnx/index.js';
import { resolveModelPath } from '../package/root.js';
import { readAdapterConfig } from '../adapters/peft.js';
import { choice, existing, parseCommand, required, UsageError } from './args.js';

export const usage = `Usage: finetune-lab export --output DIR [--model DIR|ID] [--adapter DIR] [--task TASK] [options]

Writes the model as ONNX in the layout transformers.js and Optimum use: DIR/onnx/model.onnx
(opset 17; int64 inputs input_ids, attention_mask, token_type_ids [batch_size, sequence_length]),
DIR/config.json and the tokenizer files. Prints one JSON line: task, dir, model, bytes, quantized
(with --quantize), inputs, outputs.

  --model DIR|ID   the model: a directory written by train (DIR/best) or save_pretrained, or a Hub id;
                   with --adapter, the base model the adapter was trained on (default: the profile's model)
  --adapter DIR    a LoRA or bottleneck adapter written by train --method lora|adapter (adapter_config.json);
                   LoRA is folded into the weights, a bottleneck adapter exported as its layers
  --task TASK      ${ONNX_TASKS.join('|')} (default: the model's own:
                   a classifier's sequence-classification (output logits), a masked-language model's
                   fill-mask (logits over the vocabulary), else feature-extraction (last_hidden_state,
                   pooler_output))
  --labels A,B     class names for config.json's id2label (default: the model's config.json)
  --quantize       also write DIR/onnx/model_quantized.onnx: the weights in int8 (about 4x smaller,
                   outputs within cosine 0.999 of the float model's)
  --output DIR     a new or empty directory
  --overwrite      replace an --output directory that is not empty
  -h, --help       show this help`;

/** The task model to build: the checkpoint's class, or a classifier to hold an adapter's saved head. */
function taskModelFor(architecture: string, adapterHeads: string[] | undefined, task: OnnxTask | undefined, model: string): BertTask {
  if (adapterHeads) return adapterHeads.includes('fc1') ? 'article' : 'classification';
  const saved = taskOfArchitecture(architecture) ?? 'base';
  const wanted = task ?? (saved === 'classification' || saved === 'article' ? 'sequence-classification' : saved === 'base' ? 'feature-extraction' : 'fill-mask');
  if (wanted === 'sequence-classification' && saved !== 'classification' && saved !== 'article') {
    throw new Error(`${model} is a ${architecture || 'BertModel'} checkpoint, not a classifier (config.json's architectures); ` +
      'fine-tune it first (finetune-lab train) and export DIR/best, or for a LoRA or adapter run pass its directory with --adapter DIR, or choose --task fill-mask or feature-extraction');
  }
  return wanted === 'sequence-classification' ? saved : wanted === 'fill-mask' ? (saved === 'pretraining' ? 'pretraining' : 'mlm') : 'base';
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand({
    args,
    options: {
      model: { type: 'string' }, adapter: { type: 'string' }, task: { type: 'string' }, labels: { type: 'string' },
      output: { type: 'string' }, overwrite: { type: 'boolean' }, quantize: { type: 'boolean' },
    },
  });
  required(values, ['output']);
  const task = choice('task', values.task, ONNX_TASKS);
  const adapterDir = existing('adapter', values.adapter, 'directory');
  const labels = values.labels?.split(',').map((l) => l.trim());
  if (labels && (labels.length < 1 || labels.some((l) => !l))) throw new UsageError(`--labels takes comma-separated class names, not ${JSON.stringify(values.labels)}`);
  const modelId = resolveModelPath(values.model ?? loadSettings().model);
  if (existsSync(join(modelId, ADAPTER_CONFIG_FILE)) && !existsSync(join(modelId, 'config.json'))) {
    throw new UsageError(`${modelId} is an adapter directory (${ADAPTER_CONFIG_FILE}); pass it as --adapter ${modelId}, and its base model as --model (default: the profile's model)`);
  }
  // An adapter run saves the adapter alone; its head (modules_to_save) is what makes the model a classifier.
  const adapterHeads = adapterDir ? ((readAdapterConfig(adapterDir).modules_to_save as string[] | null) ?? []) : undefined;
  if (adapterDir && task && task !== 'sequence-classification') {
    throw new UsageError(`--adapter exports the classifier it was trained as; drop --task ${task}, or export the base model without --adapter`);
  }
  const architecture = loadConfig(await resolveModelFiles(modelId, { files: ['config.json'] })).architectures?.[0] ?? '';
  const taskModel = taskModelFor(architecture, adapterHeads, task, modelId);
  // Exporting only reads the weights: the cpu backend does it without starting wasm or a GPU.
  const { model, tokenizer, info } = await withTokenizer(await fromPretrained(modelId, { task: taskModel, backend: 'cpu', labels, quiet: true }));
  try {
    const adapter = adapterDir ? loadAdapter(model, adapterDir) : undefined;
    const unfilled = info.missingKeys.filter((name) => !adapter?.savedParameters.includes(name));
    if (unfilled.length) {
      throw new Error(`${modelId} lacks ${unfilled.slice(0, 4).join(', ')}${unfilled.length > 4 ? ', ...' : ''}, so the exported model would compute with random weights; ` +
        (adapterDir ? `the adapter in ${adapterDir} was trained on another base model: pass that one with --model` : `export a complete checkpoint, or a LoRA or adapter run with --adapter DIR (a directory with ${ADAPTER_CONFIG_FILE})`));
    }
    const result = await exportOnnx(model, values.output, { tokenizer, task, overwrite: values.overwrite, quantize: values.quantize });
    console.log(JSON.stringify(result));
    return 0;
  } finally {
    model.dispose();
  }
}
