/**
 * Loading an adapter directory: the adapter type from adapter_config.json, then its weights.
 */
import type { BertTaskModel } from '../bert/heads.js';
import type { AdapterModel } from './adapter.js';
import { BOTTLENECK_TYPE, BottleneckModel, bottleneckConfig } from './bottleneck.js';
import { LoraModel, loraConfig } from './lora.js';
import { ADAPTER_CONFIG_FILE, openAdapterWeights, readAdapterConfig } from './peft.js';

/**
 * Attaches the adapter saved in `dir` (by `save()` or by PEFT's `save_pretrained` for LoRA) to a
 * task model built from the same base config, with its saved weights and modules_to_save.
 * Throws naming the problem for a missing file, an unknown adapter type, or tensors that do not
 * fit the model (another hidden size, labels, or layer count); the model is then left as it was.
 */
export function loadAdapter(model: BertTaskModel, dir: string): AdapterModel {
  const json = readAdapterConfig(dir);
  let inject: () => AdapterModel;
  if (json.peft_type === 'LORA') {
    const config = loraConfig(json);
    inject = () => new LoraModel(model, config);
  } else if (json.peft_type === BOTTLENECK_TYPE) {
    const config = bottleneckConfig(json);
    inject = () => new BottleneckModel(model, config);
  } else {
    throw new Error(`${dir}/${ADAPTER_CONFIG_FILE} has peft_type ${JSON.stringify(json.peft_type)}; finetune-lab loads "LORA" and "${BOTTLENECK_TYPE}" adapters`);
  }
  const file = openAdapterWeights(dir);
  try {
    const adapter = inject();
    try {
      adapter.restore(file);
    } catch (err) {
      adapter.unload();
      throw err;
    }
    return adapter;
  } finally {
    file.close();
  }
}
