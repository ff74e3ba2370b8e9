/**
 * Where this package's own files are: its root folder (package.json, the embedded model under
 * `models/`, the course's `build/`), found from this module's place in `src/` or `dist/`.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

/** The project root: `dist/..` when compiled, `src/..` under tsx. */
export const PROJECT_ROOT = resolve(__dirname, '..', '..');

/** The model that ships with the package (so the course runs offline), the default wherever a model may be left out. */
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
