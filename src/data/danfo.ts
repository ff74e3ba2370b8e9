import type * as DanfoModule from 'danfojs-node';

export type Danfo = typeof DanfoModule;

let loaded: Danfo | undefined;

/**
 * danfojs-node, loaded on first use: importing it takes about 2 s (it brings its own
 * TensorFlow.js bundle and xlsx), which users of the rest of the library should not pay.
 */
export function danfojs(): Danfo {
  loaded ??= require('danfojs-node') as Danfo;
  return loaded;
}
