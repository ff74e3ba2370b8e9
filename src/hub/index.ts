/** Model files from a local directory or the Hugging Face Hub (resolve.ts), through the cache Python shares (cache.ts). */
export * from './resolve.js';
export { hubCacheDir } from './cache.js';
