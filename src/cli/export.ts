/** `finetune-lab export`: a fine-tuned BERT (full, frozen-feature head, LoRA or bottleneck adapter) as ONNX, in transformers.js' layout. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ADAPTER_CONFIG_FILE } from '../adapters/index.js';
import { exportPretrained, TRUNCATION_NOTE } from '../course/deploy.js';
import { loadSettings } from '../course/settings.js';
import { ONNX_TASKS } from '../onnx/index.js';
import { resolveModelPath } from '../package/root.js';
import { choice, existing, parseCommand, required, UsageError } from './args.js';

export const usage = `Usage: finetune-lab export --output DIR [--model DIR|ID] [--adapter DIR] [--task TASK] [options]

Writes the model as ONNX in the layout transformers.js and Optimum use: DIR/onnx/model.onnx
(opset 17; int64 inputs input_ids, attention_mask, token_type_ids [batch_size, sequence_length]),
DIR/config.json and the tokenizer files. Prints one JSON line: task, dir, model, bytes, quantized
(with --quantize), inputs, outputs; then, on stderr, a note on transformers.js' truncation
(it drops the final [SEP] of a review longer than the model's limit; Python keeps it).

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
  if (adapterDir && task && task !== 'sequence-classification') {
    throw new UsageError(`--adapter exports the classifier it was trained as; drop --task ${task}, or export the base model without --adapter`);
  }
  const result = await exportPretrained({ model: modelId, adapter: adapterDir, task, labels, output: values.output!, overwrite: values.overwrite, quantize: values.quantize });
  console.log(JSON.stringify(result));
  console.error(TRUNCATION_NOTE);
  return 0;
}
