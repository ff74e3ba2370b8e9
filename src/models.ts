/**
 * Where models come from: the embedded model that ships under `models/` (so the course runs
 * offline), any local directory, or a Hugging Face Hub id.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

/** The project root: `dist/..` when compiled, `src/..` under tsx. */
export const PROJECT_ROOT = resolve(__dirname, '..');

/** The embedded model every notebook and command uses when no other is named. */
export const EMBEDDED_MODEL = join(PROJECT_ROOT, 'models', 'finetune-lab-bert');

/**
 * A model argument as the loader should see it: a path that exists relative to the working
 * directory, else relative to the project root (so `models/...` works from `notebooks/`), else
 * the argument unchanged (a Hub id such as `bert-base-uncased`).
 */
export function resolveModelPath(idOrPath: string): string {
  if (isAbsolute(idOrPath) || existsSync(idOrPath)) return idOrPath;
  const inProject = join(PROJECT_ROOT, idOrPath);
  return existsSync(inProject) ? inProject : idOrPath;
}
