/**
 * The one place where run settings are read. Notebooks, the command line and the tutorial
 * runner all call `loadSettings()`; environment variables reach notebooks because the
 * headless runner and `npm start` pass the process environment on to the kernel.
 */

/** Named sets of defaults: `ci` keeps the test run short, `article` reproduces the article's setup. */
export type ProfileName = 'ci' | 'default' | 'article';

export interface Settings {
  profile: ProfileName;
  /** A local model directory or a Hugging Face Hub id. */
  model: string;
  /** Forced TensorFlow.js backend, or undefined to choose automatically. */
  backend: string | undefined;
  trainSize: number;
  valSize: number;
  testSize: number;
  epochs: number;
  batchSize: number;
  maxLength: number;
  /** Peak learning rate for every method; undefined: each method's own default. */
  learningRate: number | undefined;
  seed: number;
  /** Threads of the wasm backend (FINETUNE_LAB_THREADS); undefined: one per core (see src/backend/wasm-threads.ts). */
  threads: number | undefined;
}

const PROFILES: Record<ProfileName, Omit<Settings, 'profile' | 'backend' | 'learningRate' | 'threads'> & { learningRate?: number }> = {
  ci: { model: 'models/finetune-lab-bert', trainSize: 256, valSize: 64, testSize: 128, epochs: 1, batchSize: 16, maxLength: 64, seed: 42 },
  default: { model: 'models/finetune-lab-bert', trainSize: 4000, valSize: 500, testSize: 2000, epochs: 2, batchSize: 32, maxLength: 128, seed: 42 },
  article: { model: 'bert-base-uncased', trainSize: 32000, valSize: 8000, testSize: 10000, epochs: 5, batchSize: 32, maxLength: 250, learningRate: 1e-5, seed: 42 },
};

export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];

/** Environment variables that override single settings, e.g. `FINETUNE_LAB_EPOCHS=2`. */
export const ENV_PREFIX = 'FINETUNE_LAB_';

function numberFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[ENV_PREFIX + name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${ENV_PREFIX}${name}=${JSON.stringify(raw)} is not a positive number; unset it or give e.g. ${ENV_PREFIX}${name}=${fallback}`);
  }
  return value;
}

/** Reads `FINETUNE_LAB_PROFILE` (ci | default | article) and the single-setting overrides. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const profile = (env[ENV_PREFIX + 'PROFILE'] || 'default') as ProfileName;
  if (!(profile in PROFILES)) {
    throw new Error(`${ENV_PREFIX}PROFILE=${JSON.stringify(profile)} is unknown; use one of ${Object.keys(PROFILES).join(', ')}`);
  }
  const base = PROFILES[profile];
  return {
    profile,
    model: env[ENV_PREFIX + 'MODEL'] || base.model,
    backend: env[ENV_PREFIX + 'BACKEND'] || undefined,
    trainSize: numberFrom(env, 'TRAIN_SIZE', base.trainSize),
    valSize: numberFrom(env, 'VAL_SIZE', base.valSize),
    testSize: numberFrom(env, 'TEST_SIZE', base.testSize),
    epochs: numberFrom(env, 'EPOCHS', base.epochs),
    batchSize: numberFrom(env, 'BATCH_SIZE', base.batchSize),
    maxLength: numberFrom(env, 'MAX_LENGTH', base.maxLength),
    learningRate: env[ENV_PREFIX + 'LR'] ? numberFrom(env, 'LR', 0) : base.learningRate,
    seed: numberFrom(env, 'SEED', base.seed),
    threads: env[ENV_PREFIX + 'THREADS'] ? numberFrom(env, 'THREADS', 1) : undefined,
  };
}
