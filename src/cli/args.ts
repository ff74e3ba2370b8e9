/**
 * Command-line arguments: Node's `util.parseArgs` with its errors as usage errors, and the one set
 * of validators every command uses. A `UsageError` means the command line itself is wrong;
 * src/cli/main.ts answers it with exit code 2 and the command's usage.
 */
import { statSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A wrong command line: an unknown option, a missing or malformed value. */
export class UsageError extends Error {}

/** `parseArgs(config)` with its errors (unknown option, missing or extra value, ...) as UsageErrors. */
export function parseCommand<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_')) throw new UsageError((err as Error).message);
    throw err;
  }
}

/** Options that have no default are undefined when not given; the validators pass that through. */
type Value<T, R extends string | undefined> = R extends string ? T : T | undefined;

/**
 * The value of `--name` as `convert` reads it; `convert` returns undefined for a value it does
 * not accept, and the error says what `--name` accepts.
 */
export function validate<T, R extends string | undefined>(name: string, raw: R, convert: (raw: string) => T | undefined, accepts: string): Value<T, R> {
  if (raw === undefined) return undefined as Value<T, R>;
  const value = convert(raw);
  if (value === undefined) throw new UsageError(`--${name} takes ${accepts}, not ${JSON.stringify(raw)}`);
  return value as Value<T, R>;
}

/** A whole number of at least `min` (default 1). */
export function integer<R extends string | undefined>(name: string, raw: R, min = 1): Value<number, R> {
  const accepts = min === 1 ? 'a positive whole number' : `a whole number of at least ${min}`;
  return validate(name, raw, (s) => (s.trim() !== '' && Number.isInteger(Number(s)) && Number(s) >= min ? Number(s) : undefined), accepts);
}

/**
 * A number within bounds: `above`/`below` exclude the bound, `min`/`max` include it;
 * `{ above: 0 }` is a positive number.
 */
export function number<R extends string | undefined>(name: string, raw: R, range: { above?: number; min?: number; below?: number; max?: number }): Value<number, R> {
  const { above, min, below, max } = range;
  const bounds = [
    above !== undefined && `above ${above}`, min !== undefined && `at least ${min}`,
    below !== undefined && `below ${below}`, max !== undefined && `at most ${max}`,
  ].filter(Boolean);
  const inRange = (x: number) => Number.isFinite(x) &&
    (above === undefined || x > above) && (min === undefined || x >= min) && (below === undefined || x < below) && (max === undefined || x <= max);
  return validate(name, raw, (s) => (s.trim() !== '' && inRange(Number(s)) ? Number(s) : undefined), `a number ${bounds.join(' and ')}`);
}

/** A comma-separated list, each item as `item` reads it (undefined for an item it does not accept); `accepts` says what an item is. */
export function list<T, R extends string | undefined>(name: string, raw: R, item: (raw: string) => T | undefined, accepts: string): Value<T[], R> {
  return validate(name, raw, (s) => {
    const items = s.split(',').map((part) => item(part.trim()));
    return items.every((x) => x !== undefined) ? (items as T[]) : undefined;
  }, `a comma-separated list of ${accepts}`);
}

/** One of `choices`. */
export function choice<C extends string, R extends string | undefined>(name: string, raw: R, choices: readonly C[]): Value<C, R> {
  if (raw === undefined) return undefined as Value<C, R>;
  if (!(choices as readonly string[]).includes(raw)) throw new UsageError(`--${name}: unknown ${name} ${JSON.stringify(raw)}; use one of ${choices.join(', ')}`);
  return raw as string as Value<C, R>;
}

/** The path of an existing file (or, with `kind` 'directory', directory). */
export function existing<R extends string | undefined>(name: string, raw: R, kind: 'file' | 'directory' = 'file'): Value<string, R> {
  if (raw === undefined) return undefined as Value<string, R>;
  const stat = statSync(raw, { throwIfNoEntry: false });
  if (!stat) throw new UsageError(`--${name} ${raw}: no such ${kind}`);
  if (kind === 'file' ? !stat.isFile() : !stat.isDirectory()) throw new UsageError(`--${name} ${raw} is not a ${kind}`);
  return raw as Value<string, R>;
}

/** Fails with one UsageError that names the options among `names` that were not given. */
export function required<V extends object, K extends keyof V & string>(values: V, names: readonly K[]): asserts values is V & { [P in K]-?: NonNullable<V[P]> } {
  const missing = names.filter((n) => values[n] === undefined).map((n) => `--${n}`);
  if (missing.length > 0) throw new UsageError(`missing ${missing.join(', ')}`);
}
