/**
 * Module names and PEFT's rules for selecting modules by name. A "module" here is what PyTorch's
 * `named_modules()` would list for the same model: every dotted prefix of a parameter name
 * (`bert.encoder.layer.0.attention.self.query`, `bert.encoder.layer.0`, `classifier`, ...).
 */
import type { BertTaskModel } from '../bert/heads.js';

/**
 * PEFT's `check_target_module_exists`: a string is a regular expression that must match the whole
 * name; a list matches a name equal to one of its entries or ending with `.<entry>`.
 */
export function matchesTarget(target: string | string[], name: string): boolean {
  if (typeof target === 'string') return new RegExp(`^(?:${target})$`).test(name);
  return target.some((t) => name === t || name.endsWith(`.${t}`));
}

/** PEFT keeps adapters off `modules_to_save` modules and everything inside them. */
export function insideModulesToSave(modulesToSave: string[], name: string): boolean {
  return modulesToSave.some((m) => name === m || name.endsWith(`.${m}`) || name.startsWith(`${m}.`) || name.includes(`.${m}.`));
}

/** Every module name of the model, parents included, in first-seen order. */
export function moduleNames(model: BertTaskModel): string[] {
  const names = new Set<string>();
  for (const param of model.params.names()) {
    const parts = param.split('.');
    for (let i = 1; i < parts.length; i++) names.add(parts.slice(0, i).join('.'));
  }
  return [...names];
}

/**
 * The names of the parameters inside the modules that `modulesToSave` selects, with PEFT's rule
 * (`_set_trainable`: the module name ends with the entry). Throws for an entry that selects
 * nothing, except `optional` ones (PEFT's automatic `classifier`/`score` for SEQ_CLS).
 */
export function modulesToSaveParameters(model: BertTaskModel, modulesToSave: string[], optional: string[] = []): string[] {
  const modules = moduleNames(model);
  const params = new Set<string>();
  for (const entry of modulesToSave) {
    const selected = modules.filter((m) => m.endsWith(entry));
    if (!selected.length && !optional.includes(entry)) {
      throw new Error(`modules_to_save entry "${entry}" names no module of ${model.architecture}; its heads are e.g. ${headModules(model).join(', ')}`);
    }
    for (const m of selected) for (const p of model.params.names()) if (p.startsWith(`${m}.`)) params.add(p);
  }
  return [...params];
}

/** The top-level modules outside the encoder (the task head). */
function headModules(model: BertTaskModel): string[] {
  return moduleNames(model).filter((m) => !m.includes('.') && m !== 'bert');
}
