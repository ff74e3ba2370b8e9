/**
 * The flags `train` and `grid` share: which model and reviews, how many, how each review is cut
 * and read, and the seed. Each replaces the settings profile's value it names, so both commands
 * read them the same way.
 */
import { ROW_TRUNCATIONS } from '../data/loader.js';
import { POOLINGS } from '../finetune/index.js';
import type { GridBase } from '../finetune/grid.js';
import { choice, existing, integer } from './args.js';

const flag = { type: 'string' } as const;

/** `parseCommand` options for the shared flags. */
export const RUN_FLAGS = {
  model: flag, data: flag, 'train-size': flag, 'val-size': flag, 'batch-size': flag, 'max-length': flag,
  truncation: flag, 'head-tokens': flag, pooling: flag, 'adapter-size': flag, seed: flag,
};

type RunFlagValues = { [K in keyof typeof RUN_FLAGS]?: string };

/** `course` with the shared flags given on the command line in its values' place. */
export function withRunFlags<T extends GridBase>(course: T, values: RunFlagValues): T {
  const adapterSize = integer('adapter-size', values['adapter-size']);
  return {
    ...course,
    model: values.model ?? course.model,
    data: values.data === undefined ? course.data : values.data === 'imdb' ? 'imdb' : existing('data', values.data),
    trainSize: integer('train-size', values['train-size']) ?? course.trainSize,
    valSize: integer('val-size', values['val-size']) ?? course.valSize,
    batchSize: integer('batch-size', values['batch-size']) ?? course.batchSize,
    maxLength: integer('max-length', values['max-length']) ?? course.maxLength,
    truncation: choice('truncation', values.truncation, ROW_TRUNCATIONS) ?? course.truncation,
    headTokens: integer('head-tokens', values['head-tokens'], 0) ?? course.headTokens,
    pooling: choice('pooling', values.pooling, POOLINGS) ?? course.pooling,
    adapter: adapterSize === undefined ? course.adapter : { bottleneck_size: adapterSize },
    seed: integer('seed', values.seed, 0) ?? course.seed,
  };
}
