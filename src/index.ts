export { loadSettings } from "./settings.js";
export type { Settings, ProfileName } from "./settings.js";
export { initBackend, probeBackends, currentBackend, BACKEND_NAMES } from "./backend/index.js";
export type { BackendName, BackendInfo, BackendProbe, InitBackendOptions } from "./backend/index.js";
export { gelu, layerNorm } from "./ops.js";
export { readSafetensors, writeSafetensors, SafetensorsFile } from "./safetensors/index.js";
export type { DType, TensorInfo, TensorToWrite, WriteOptions } from "./safetensors/index.js";
export { BertTokenizer, BERT_BASE_UNCASED_VOCAB_MD5, bertBaseUncasedVocab } from "./tokenizer/index.js";
export type { BatchEncoding, EncodeOptions, Padding, Truncation, TensorBatch, TokenizerConfig, TokenizerFiles, TokenizerJson } from "./tokenizer/index.js";
