/**
 * Parameter-efficient fine-tuning: LoRA and bottleneck adapters injected into an unchanged task
 * model, saved and loaded on their own in PEFT's directory layout.
 */
export { AdapterModel, type ParameterCounts } from './adapter.js';
export { BottleneckAdapter, BottleneckModel, BOTTLENECK_DEFAULTS, bottleneckConfig, injectAdapters, type BottleneckConfig } from './bottleneck.js';
export { LoraLinear, LoraModel, LORA_DEFAULTS, injectLora, loraConfig, type InjectOptions, type LoraConfig } from './lora.js';
export { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, PEFT_PREFIX } from './peft.js';
export { loadAdapter } from './load.js';
