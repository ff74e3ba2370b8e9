import type * as DanfoModule from 'danfojs-node';
import { optionalPeer } from '../package/peers.js';

export type Danfo = typeof DanfoModule;

let loaded: Danfo | undefined;

/**
 * danfojs-node, loaded on first use: importing it takes about 2 s (it brings its own
 * TensorFlow.js bundle and xlsx), which users of the rest of the library should not pay.
 */
export function danfojs(): Danfo {
  loaded ??= optionalPeer<Danfo>('danfojs-node', 'Data frames (toDataFrame, headFrame, loadCsv)');
  return loaded;
}
