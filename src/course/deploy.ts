/**
 * Deploying what the course fine-tuned: which run to ship (the best test accuracy among the runs
 * on disk), and a checkpoint or adapter run exported to ONNX as `finetune-lab export` does it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ADAPTER_CONFIG_FILE, loadAdapter } from '../adapters/index.js';
import { readAdapterConfig } from '../adapters/peft.js';
import type { BackendName } from '../backend/index.js';
import { loadConfig } from '../bert/config.js';
import { taskOfArchitecture, type BertTask, type BertTaskModel } from '../bert/heads.js';
import { fromPretrained } from '../bert/pretrained.js';
import { withTokenizer } from '../finetune/pretrained.js';
import { resolveModelFiles } from '../hub/index.js';
import { exportOnnx, type ExportResult, type OnnxTask } from '../onnx/index.js';
import type { BertTokenizer } from '../tokenizer/index.js';
import { RESULTS_FILE, runDir } from './paths.js';
import { readResults } from './results.js';

/** The notebook that exports the course's best run to DEPLOY_DIR. */
export const DEPLOY_NOTEBOOK = '08-deploy.ipynb';

/** What users of an export should know about transformers.js (tests/transformers-js.test.ts shows it). */
export const TRUNCATION_NOTE = 'Note: transformers.js drops the final [SEP] when it truncates a text longer than the model\'s limit ' +
  '(Python\'s tokenizer and finetune-lab\'s keep it), so on such texts its scores differ slightly from these; shorter texts give the same.';

export interface ExportPretrainedOptions {
  /** A directory written by train (DIR/best) or save_pretrained, or a Hub id; with `adapter`, its base model. */
  model: string;
  /** A LoRA or bottleneck adapter run's directory (adapter_config.json). */
  adapter?: string;
  task?: OnnxTask;
  labels?: readonly string[];
  output: string;
  overwrite?: boolean;
  quantize?: boolean;
}

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

/** What to load: a checkpoint, or a base model with an adapter run, as the task model `task` exports from. */
export type RunToLoad = Pick<ExportPretrainedOptions, 'model' | 'adapter' | 'task' | 'labels'>;

/**
 * Loads a checkpoint (with its adapter, if any) as the model that exports to `task` (default: its
 * own task), with its tokenizer, on `backend` (default: the one in use, else the best available).
 */
export async function loadRun(options: RunToLoad, backend?: BackendName): Promise<{ model: BertTaskModel; tokenizer: BertTokenizer }> {
  const { model: modelId, adapter: adapterDir, task, labels } = options;
  // An adapter run saves the adapter alone; its head (modules_to_save) is what makes the model a classifier.
  const adapterHeads = adapterDir ? ((readAdapterConfig(adapterDir).modules_to_save as string[] | null) ?? []) : undefined;
  const architecture = loadConfig(await resolveModelFiles(modelId, { files: ['config.json'] })).architectures?.[0] ?? '';
  const taskModel = taskModelFor(architecture, adapterHeads, task, modelId);
  const { model, tokenizer, info } = await withTokenizer(await fromPretrained(modelId, { task: taskModel, backend, labels: labels && [...labels], quiet: true }));
  try {
    const adapter = adapterDir ? loadAdapter(model, adapterDir) : undefined;
    const unfilled = info.missingKeys.filter((name) => !adapter?.savedParameters.includes(name));
    if (unfilled.length) {
      throw new Error(`${modelId} lacks ${unfilled.slice(0, 4).join(', ')}${unfilled.length > 4 ? ', ...' : ''}, so the exported model would compute with random weights; ` +
        (adapterDir ? `the adapter in ${adapterDir} was trained on another base model: pass that one with --model` : `export a complete checkpoint, or a LoRA or adapter run with --adapter DIR (a directory with ${ADAPTER_CONFIG_FILE})`));
    }
  } catch (error) {
    model.dispose();
    throw error;
  }
  return { model, tokenizer };
}

/** Loads a checkpoint (with its adapter, if any) on the cpu backend and exports it with `exportOnnx`. */
export async function exportPretrained(options: ExportPretrainedOptions): Promise<ExportResult> {
  // Exporting only reads the weights: the cpu backend does it without starting wasm or a GPU.
  const { model, tokenizer } = await loadRun(options, 'cpu');
  try {
    return await exportOnnx(model, options.output, { tokenizer, task: options.task, overwrite: options.overwrite, quantize: options.quantize });
  } finally {
    model.dispose();
  }
}

/** A method's fine-tuned run, as exportPretrained takes it. */
export interface BestRun {
  method: string;
  testAccuracy: number;
  /** The model to load: the run's DIR/best, or for an adapter run the base model it was trained on. */
  model: string;
  /** The adapter run's DIR/best. */
  adapter?: string;
}

/** The recorded run of `profile` with the best test accuracy whose best epoch is on disk (prompting trains nothing, so it has none). */
export function bestRun(profile: string, file = RESULTS_FILE): BestRun {
  const runs = Object.entries(readResults(file))
    .filter(([method, r]) => r.profile === profile && existsSync(join(runDir(method), 'best')))
    .sort(([, a], [, b]) => b.test_accuracy - a.test_accuracy);
  if (!runs.length) throw new Error(`no fine-tuned run of the "${profile}" profile is on disk (build/runs/METHOD/best); run notebooks 03 to 05 first`);
  const [method, result] = runs[0];
  const best = join(runDir(method), 'best');
  const isAdapter = existsSync(join(best, ADAPTER_CONFIG_FILE));
  return { method, testAccuracy: result.test_accuracy, model: isAdapter ? String(result.model) : best, adapter: isAdapter ? best : undefined };
}
