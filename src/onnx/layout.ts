/**
 * The export's layout, shared by the exporter and whatever runs its files (ONNX Runtime here,
 * transformers.js, a browser page): the file names inside the export directory, the tasks, the
 * opset, and the graph's inputs. The outputs are named after the task, as Optimum names them:
 * `logits` (sequence-classification, fill-mask), `last_hidden_state` and `pooler_output`
 * (feature-extraction).
 */
import { join } from 'node:path';

/** The tasks, by transformers.js' and Optimum's names. */
export const ONNX_TASKS = ['sequence-classification', 'feature-extraction', 'fill-mask'] as const;
export type OnnxTask = (typeof ONNX_TASKS)[number];

/** The opset of the exported graphs: the first with LayerNormalization, and the newest Debian's ONNX 1.12 checks. */
export const OPSET = 17;

/** Where the model file goes inside the export directory (transformers.js looks for `onnx/model.onnx`). */
export const ONNX_MODEL_FILE = join('onnx', 'model.onnx');
/** The int8 variant, where transformers.js looks for it (`dtype: 'q8'`). */
export const ONNX_QUANTIZED_FILE = join('onnx', 'model_quantized.onnx');

/** The graph's input names, in order. */
export const ONNX_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;
