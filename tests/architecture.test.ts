/**
 * The layers of src/ that src/ARCHITECTURE.md draws, checked against the code: every relative
 * import goes to a lower layer (the entry points may also import each other), and the library
 * below the course layer reads neither the course's settings nor its environment variables.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const SRC = join(__dirname, '..', 'src');

/** Each top-level module of src/ and its layer, lowest first, as the architecture note draws them. */
const LAYERS: string[][] = [
  ['numbers', 'terminal', 'files', 'package'],
  ['safetensors', 'tokenizer', 'hub', 'data'],
  ['backend'],
  ['ops'],
  ['bert'],
  ['adapters'],
  ['onnx'],
  ['train'],
  ['finetune', 'pretrain', 'prompting', 'baseline', 'plots'],
  ['course'],
  ['jupyter'],
  ['cli', 'bench', 'index'],
];
const ENTRY = LAYERS.length - 1;
const layerOf = new Map(LAYERS.flatMap((names, layer) => names.map((name) => [name, layer] as const)));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

const moduleOf = (file: string) => relative(SRC, file).split('/')[0].replace(/\.(ts|js)$/, '');

test('every module of src/ has a layer, and imports only from lower layers', () => {
  const wrong: string[] = [];
  for (const file of sources(SRC)) {
    const from = moduleOf(file);
    assert.ok(layerOf.has(from), `src/${from} is in no layer of src/ARCHITECTURE.md`);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
      const to = moduleOf(normalize(join(dirname(file), spec)));
      if (to === from) continue;
      const [a, b] = [layerOf.get(from)!, layerOf.get(to)];
      if (b === undefined || !(b < a || (a === ENTRY && b === ENTRY))) wrong.push(`${relative(SRC, file)} imports ${spec} (${from}, layer ${a} -> ${to}, layer ${b})`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('the library below the course layer reads no course settings and no FINETUNE_LAB_ variables', () => {
  const course = layerOf.get('course')!;
  const reads = sources(SRC)
    .filter((file) => layerOf.get(moduleOf(file))! < course)
    .filter((file) => /loadSettings\(|env(\.|\[['"`])FINETUNE_LAB_|ENV_PREFIX/.test(readFileSync(file, 'utf8')))
    .map((file) => relative(SRC, file));
  assert.deepEqual(reads, []);
});
