// Model files from a local directory or the Hugging Face Hub, through the cache Python's huggingface_hub uses.
export { hubCacheDir } from './cache.js';
export * from './resolve.js';
