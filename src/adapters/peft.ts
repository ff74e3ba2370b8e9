/**
 * The adapter directory as PEFT's `save_pretrained` writes it: `adapter_config.json` (the config,
 * `json.dumps(indent=2, sort_keys=True)`) and `adapter_model.safetensors` (the adapter's tensors
 * in PyTorch layout, keyed by `base_model.model.<module>.<param>` without the adapter name).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors, type SafetensorsFile, type TensorToWrite } from '../safetensors/index.js';
import { writeFileAtomic } from '../files/atomic.js';

export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';
/** The prefix of every key: the model inside PeftModel (`base_model`) inside the tuner (`model`). */
export const PEFT_PREFIX = 'base_model.model.';

/** JSON with sorted keys at every level, as Python's `json.dumps(sort_keys=True, indent=2)`. */
function sortedJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => [k, sort(x)]));
    return v;
  };
  return JSON.stringify(sort(value), null, 2);
}

/** Writes the two files of an adapter directory, each atomically. */
export async function writeAdapterDirectory(dir: string, config: Record<string, unknown>, tensors: TensorToWrite[]): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await writeSafetensors(join(dir, ADAPTER_WEIGHTS_FILE), tensors);
  writeFileAtomic(join(dir, ADAPTER_CONFIG_FILE), sortedJson(config));
}

/** Reads `DIR/adapter_config.json`. */
export function readAdapterConfig(dir: string): Record<string, unknown> {
  const path = join(dir, ADAPTER_CONFIG_FILE);
  if (!existsSync(path)) throw new Error(`${dir} has no ${ADAPTER_CONFIG_FILE}; an adapter directory is written by save() or PEFT's save_pretrained`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot parse ${path}: ${(err as Error).message}`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new Error(`${path} is not a JSON object`);
  return json as Record<string, unknown>;
}

/** Opens `DIR/adapter_model.safetensors`. */
export function openAdapterWeights(dir: string): SafetensorsFile {
  const path = join(dir, ADAPTER_WEIGHTS_FILE);
  if (!existsSync(path)) {
    const hint = existsSync(join(dir, 'adapter_model.bin')) ? ' (it has adapter_model.bin: save it again with PEFT, safe_serialization=True)' : '';
    throw new Error(`${dir} has no ${ADAPTER_WEIGHTS_FILE}${hint}; finetune-lab reads safetensors adapters`);
  }
  return readSafetensors(path);
}
