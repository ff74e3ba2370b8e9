/** What `finetune()` uses for an option left out: a laptop-sized run, also the course's `default` profile. */
export const FINETUNE_DEFAULTS = {
  trainSize: 4000,
  valSize: 500,
  testSize: 2000,
  epochs: 2,
  batchSize: 32,
  maxLength: 128,
  seed: 42,
} as const;
