/**
 * The one place where run settings are read. Notebooks, the command line and the tutorial
 * runner all call `loadSettings()` and hand its values to the library, which reads no settings
 * itself; environment variables reach notebooks because the headless runner and `npm start` pass
 * the process environment on to the kernel.
 */
import { BACKEND_NAMES, type BackendName, type InitBackendOptions } from '../backend/index.js';
import { FINETUNE_DEFAULTS } from '../finetune/defaults.js';
import { ENGINES, type EngineChoice } from '../onnx/index.js';

/** Named sets of defaults: `ci` keeps the test run short, `article` reproduces the article's setup. */
export type ProfileName = 'ci' | 'default' | 'article';

export interface Settings {
  profile: ProfileName;
  /** A local model directory or a Hugging Face Hub id. */
  model: string;
  /** Forced TensorFlow.js backend (FINETUNE_LAB_BACKEND), or undefined to choose automatically. */
  backend: BackendName | undefined;
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
  /** What runs the work that does not train (FINETUNE_LAB_ENGINE): onnx, tfjs, or auto (default; see src/onnx/engine.ts). */
  engine: EngineChoice;
}

const PROFILES: Record<ProfileName, Omit<Settings, 'profile' | 'backend' | 'learningRate' | 'threads' | 'engine'> & { learningRate?: number }> = {
  ci: { model: 'models/finetune-lab-bert', trainSize: 256, valSize: 64, testSize: 128, epochs: 1, batchSize: 16, maxLength: 64, seed: 42 },
  // The library's own defaults, which are what a laptop runs in reasonable time.
  default: { model: 'models/finetune-lab-bert', ...FINETUNE_DEFAULTS },
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

function backendFrom(env: NodeJS.ProcessEnv): BackendName | undefined {
  const raw = env[ENV_PREFIX + 'BACKEND'];
  if (!raw) return undefined;
  if ((BACKEND_NAMES as readonly string[]).includes(raw)) return raw as BackendName;
  throw new Error(`${ENV_PREFIX}BACKEND=${JSON.stringify(raw)} is not a backend; use one of ${BACKEND_NAMES.join(', ')} or unset it to choose automatically`);
}

function engineFrom(env: NodeJS.ProcessEnv): EngineChoice {
  const raw = env[ENV_PREFIX + 'ENGINE'] || 'auto';
  if ((ENGINES as readonly string[]).includes(raw)) return raw as EngineChoice;
  throw new Error(`${ENV_PREFIX}ENGINE=${JSON.stringify(raw)} is not an engine; use one of ${ENGINES.join(', ')} or unset it for auto`);
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
    backend: backendFrom(env),
    trainSize: numberFrom(env, 'TRAIN_SIZE', base.trainSize),
    valSize: numberFrom(env, 'VAL_SIZE', base.valSize),
    testSize: numberFrom(env, 'TEST_SIZE', base.testSize),
    epochs: numberFrom(env, 'EPOCHS', base.epochs),
    batchSize: numberFrom(env, 'BATCH_SIZE', base.batchSize),
    maxLength: numberFrom(env, 'MAX_LENGTH', base.maxLength),
    learningRate: env[ENV_PREFIX + 'LR'] ? numberFrom(env, 'LR', 0) : base.learningRate,
    seed: numberFrom(env, 'SEED', base.seed),
    threads: env[ENV_PREFIX + 'THREADS'] ? numberFrom(env, 'THREADS', 1) : undefined,
    engine: engineFrom(env),
  };
}

/**
 * `initBackend`'s options for the settings' backend and wasm threads, where `options` (a command's
 * --backend and --threads, `quiet`) give no others. The first backend chosen in a process fixes
 * the wasm threads, so the command line and the notebooks choose theirs with these first.
 */
export function backendOptions(settings: Settings, options: InitBackendOptions = {}): InitBackendOptions {
  const backend = options.backend ?? settings.backend;
  const forcedBy = options.backend === undefined && settings.backend !== undefined ? `${ENV_PREFIX}BACKEND` : options.forcedBy;
  return { ...options, backend, forcedBy, threads: options.threads ?? settings.threads };
}
