/**
 * The one place where run settings are read. Notebooks, the command line and the tutorial
 * runner all call `loadSettings()` and hand its values to the library, which reads no settings
 * itself; environment variables reach notebooks because the headless runner and `npm start` pass
 * the process environment on to the kernel.
 */
import { BACKEND_NAMES, type BackendName, type InitBackendOptions } from '../backend/index.js';
import { ROW_TRUNCATIONS, type RowTruncation } from '../data/loader.js';
import { POOLINGS, type Pooling } from '../bert/pooling.js';
import { FINETUNE_DEFAULTS } from '../finetune/defaults.js';
import { ENGINES, type EngineChoice } from '../onnx/index.js';
import { METHOD_SPECS, METHODS, type Method, type Recipe } from '../finetune/methods.js';

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
  /** How a review longer than maxLength is cut (FINETUNE_LAB_TRUNCATION): its first tokens, or its first and last. */
  truncation: RowTruncation;
  /** With head+tail: the tokens kept from the start (FINETUNE_LAB_HEAD_TOKENS); undefined: a quarter of the row. */
  headTokens: number | undefined;
  /** What feature extraction's head reads (FINETUNE_LAB_POOLING): the pooled [CLS] vector or the mean of the tokens. */
  pooling: Pooling;
  /** Bottleneck adapters' size (FINETUNE_LAB_ADAPTER_SIZE); undefined: the library's default, hidden / 16. */
  adapterSize: number | undefined;
  /** Peak learning rate for every method; undefined: each method's own default. */
  learningRate: number | undefined;
  /**
   * Each method's learning rate and epochs: FINETUNE_LAB_LR and FINETUNE_LAB_EPOCHS where set,
   * else the profile's recipe for the method, else its learningRate and epochs, else the method's lr.
   */
  recipes: Record<Method, Recipe>;
  seed: number;
  /** Threads of the wasm backend (FINETUNE_LAB_THREADS); undefined: one per core (see src/backend/wasm-threads.ts). */
  threads: number | undefined;
  /** What runs the work that does not train (FINETUNE_LAB_ENGINE): onnx, tfjs, or auto (default; see src/onnx/engine.ts). */
  engine: EngineChoice;
}

type Profile = Omit<Settings, 'profile' | 'backend' | 'truncation' | 'headTokens' | 'pooling' | 'adapterSize' | 'learningRate' | 'threads' | 'recipes' | 'engine'> & {
  truncation?: RowTruncation;
  headTokens?: number;
  pooling?: Pooling;
  adapterSize?: number;
  /** For every method; a profile sets this or `recipes`, not both. */
  learningRate?: number;
  /** Per method, e.g. the `best` of `finetune-lab grid`'s JSON. */
  recipes?: Partial<Record<Method, Recipe>>;
};

const PROFILES: Record<ProfileName, Profile> = {
  ci: { model: 'models/finetune-lab-bert', trainSize: 256, valSize: 64, testSize: 128, epochs: 1, batchSize: 16, maxLength: 64, seed: 42 },
  // Chosen on the validation reviews with the embedded model: its finetuning-choices.json and finetuning-grid.json.
  default: {
    model: 'models/finetune-lab-bert', ...FINETUNE_DEFAULTS, truncation: 'head+tail', pooling: 'mean', adapterSize: 64,
    recipes: { frozen: { lr: 3e-2, epochs: 3 }, full: { lr: 5e-4, epochs: 4 }, adapter: { lr: 3e-3, epochs: 4 }, lora: { lr: 1e-2, epochs: 4 } },
  },
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

/** A setting that names one of `choices` (`what` says what they are, e.g. 'an engine'), `fallback` where unset. */
function choiceFrom<T extends string>(env: NodeJS.ProcessEnv, name: string, what: string, choices: readonly T[], fallback: T): T {
  const raw = env[ENV_PREFIX + name];
  if (!raw) return fallback;
  if ((choices as readonly string[]).includes(raw)) return raw as T;
  throw new Error(`${ENV_PREFIX}${name}=${JSON.stringify(raw)} is not ${what}; use one of ${choices.join(', ')} or unset it (default ${fallback})`);
}

/** Reads `FINETUNE_LAB_PROFILE` (ci | default | article) and the single-setting overrides. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const profile = (env[ENV_PREFIX + 'PROFILE'] || 'default') as ProfileName;
  if (!(profile in PROFILES)) {
    throw new Error(`${ENV_PREFIX}PROFILE=${JSON.stringify(profile)} is unknown; use one of ${Object.keys(PROFILES).join(', ')}`);
  }
  const base = PROFILES[profile];
  // Variables that, where set, override the profile (and its recipes).
  const given = (name: string) => (env[ENV_PREFIX + name] ? numberFrom(env, name, 1) : undefined);
  const [forcedLr, forcedEpochs] = [given('LR'), given('EPOCHS')];
  const recipeOf = (method: Method): Recipe => ({
    lr: forcedLr ?? base.recipes?.[method]?.lr ?? base.learningRate ?? METHOD_SPECS[method].lr,
    epochs: forcedEpochs ?? base.recipes?.[method]?.epochs ?? base.epochs,
  });
  return {
    profile,
    model: env[ENV_PREFIX + 'MODEL'] || base.model,
    backend: backendFrom(env),
    trainSize: numberFrom(env, 'TRAIN_SIZE', base.trainSize),
    valSize: numberFrom(env, 'VAL_SIZE', base.valSize),
    testSize: numberFrom(env, 'TEST_SIZE', base.testSize),
    epochs: forcedEpochs ?? base.epochs,
    batchSize: numberFrom(env, 'BATCH_SIZE', base.batchSize),
    maxLength: numberFrom(env, 'MAX_LENGTH', base.maxLength),
    truncation: choiceFrom(env, 'TRUNCATION', 'a truncation', ROW_TRUNCATIONS, base.truncation ?? 'head'),
    headTokens: given('HEAD_TOKENS') ?? base.headTokens,
    pooling: choiceFrom(env, 'POOLING', 'a pooling', POOLINGS, base.pooling ?? 'cls'),
    adapterSize: given('ADAPTER_SIZE') ?? base.adapterSize,
    learningRate: forcedLr ?? base.learningRate,
    recipes: Object.fromEntries(METHODS.map((method) => [method, recipeOf(method)])) as Record<Method, Recipe>,
    seed: numberFrom(env, 'SEED', base.seed),
    threads: given('THREADS'),
    engine: choiceFrom(env, 'ENGINE', 'an engine', ENGINES, 'auto'),
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
