// The command line as a whole: `--version`, `-h`/`--help` on every command, and the exit codes of
// every command in src/cli/commands.ts: 0 for a good call, 1 for a call that fails, 2 for a wrong
// command line (with a message naming the option and the command's usage). The good calls are
// small real runs; only `lab` is checked through `--help`, since a real one starts a Jupyter
// server (tests/jupyter.test.ts does that).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { COMMANDS } from '../src/cli/commands.js';
import { startCli, type CliResult } from './helpers/cli.js';

const ROOT = path.resolve(__dirname, '..');
const TMP = mkdtempSync(path.join(tmpdir(), 'finetune-lab-cli-'));
const TINY_CLS = 'tests/fixtures/hf-reference/tiny-bert-cls';
const TINY_MLM = 'tests/fixtures/hf-reference/tiny-bert';
const tmp = (name: string) => path.join(TMP, name);
/** The ci profile, smaller still: for commands that fine-tune. */
const SMALL = { FINETUNE_LAB_PROFILE: 'ci', FINETUNE_LAB_TRAIN_SIZE: '16', FINETUNE_LAB_VAL_SIZE: '8', FINETUNE_LAB_TEST_SIZE: '8', FINETUNE_LAB_MAX_LENGTH: '16' };

/** `finetune-lab ARGS` with `env` added; a call that hangs (a Jupyter server that started after all) is killed. */
async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const { child, done } = startCli(args, { ...process.env, ...env });
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  try {
    return await done;
  } finally {
    clearTimeout(timer);
  }
}

/** The last line of standard output as JSON: every command that reports prints it last. */
function lastJson(r: CliResult): Record<string, unknown> {
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

interface Call {
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** What the output must show: stdout for a good call, stdout and stderr for a failing one, stderr for a malformed one. */
  shows: RegExp;
  check?: (r: CliResult) => void;
}

/** Per command: a good call (exit 0), one that fails (exit 1), one with a wrong command line (exit 2). */
const CALLS: Record<string, { good: Call; failing: Call; malformed: Call }> = {
  env: {
    good: { args: ['env', '--backend', 'cpu'], shows: /"selected"/, check: (r) => assert.equal((JSON.parse(r.stdout).selected as { name: string }).name, 'cpu') },
    failing: { args: ['env'], env: { FINETUNE_LAB_BACKEND: 'nope' }, shows: /FINETUNE_LAB_BACKEND="nope" is not a backend/ },
    malformed: { args: ['env', '--backend', 'nope'], shows: /--backend: unknown backend "nope"; use one of tensorflow, webgpu, wasm, cpu/ },
  },
  tokenize: {
    good: { args: ['tokenize', '--tokenizer', 'bert-base-uncased', '--input', tmp('texts.json'), '--max-length', '8', '--output', tmp('tokenized.json')], shows: /^$/,
      check: () => assert.deepEqual(JSON.parse(readFileSync(tmp('tokenized.json'), 'utf8')).input_ids[0], [101, 1045, 2066, 13137, 20968, 102, 0, 0]) },
    failing: { args: ['tokenize', '--tokenizer', 'bert-base-uncased', '--input', tmp('broken.json')], shows: /broken\.json is not valid JSON/ },
    malformed: { args: ['tokenize', '--tokenizer', 'bert-base-uncased', '--input', tmp('texts.json'), '--max-length', '0'], shows: /--max-length takes a positive whole number, not "0"/ },
  },
  run: {
    good: { args: ['run', 'tests/notebooks/good.ipynb', '--out', tmp('run')], shows: /good\.ipynb: kernel [\d.]+s, cells .* ok/ },
    failing: { args: ['run', 'tests/notebooks/throws.ipynb', '--out', tmp('run')], shows: /the fixture exploded on purpose/, check: (r) => assert.match(r.stdout, /throws\.ipynb: cell 2 of 3 failed/) },
    malformed: { args: ['run', 'tests/notebooks/good.ipynb', '--timeout', 'soon'], shows: /--timeout takes a number above 0, not "soon"/ },
  },
  forward: {
    good: { args: ['forward', '--model', TINY_CLS, '--input', tmp('ids.json'), '--output', tmp('forward.json'), '--backend', 'wasm'], shows: /^$/,
      check: () => assert.deepEqual(JSON.parse(readFileSync(tmp('forward.json'), 'utf8')).logits.shape, [1, 2]) },
    failing: { args: ['forward', '--model', TINY_CLS, '--input', tmp('texts.json'), '--output', tmp('forward.json'), '--backend', 'wasm'], shows: /"input_ids" must be a list of lists of integers/ },
    malformed: { args: ['forward', '--model', TINY_CLS, '--input', tmp('ids.json')], shows: /missing --output/ },
  },
  train: {
    good: {
      args: ['train', '--model', TINY_CLS, '--method', 'frozen', '--train-size', '16', '--val-size', '8', '--test-size', '8', '--epochs', '1', '--max-length', '16', '--backend', 'wasm', '--output', tmp('train')],
      shows: /"method":"frozen"/,
      check: (r) => {
        assert.equal(lastJson(r).test_size, 8);
        assert.match(r.stderr, /epoch 1\/1 \[█+\] step 1\/1 \| loss [\d.]+/, 'the progress line is missing');
        assert.match(r.stderr, /epoch 1\/1: train loss [\d.]+, val loss [\d.]+, val accuracy [\d.]+%/, "the epoch's result is missing");
      },
    },
    failing: { args: ['train', '--model', 'tests/fixtures', '--method', 'frozen', '--train-size', '16', '--val-size', '8', '--test-size', '8'], shows: /tests\/fixtures lacks config\.json/ },
    malformed: { args: ['train', '--method', 'frozen', '--epochs', 'two'], shows: /--epochs takes a positive whole number, not "two"/ },
  },
  grid: {
    good: {
      args: ['grid', '--model', TINY_CLS, '--methods', 'frozen', '--lrs', '1e-4,1e-3', '--epochs', '1', '--train-size', '16', '--val-size', '8', '--max-length', '16', '--backend', 'wasm', '--output', tmp('grid')],
      shows: /"complete":true,"points":2,"best":\{"frozen":\{"lr":0\.000?1,"epochs":1\}\}/,
      check: (r) => {
        assert.match(r.stderr, /frozen lr 0\.0001 1 epochs: val accuracy [\d.]+, val loss [\d.]+ \([\d.]+ s\)/);
        const report = JSON.parse(readFileSync(tmp('grid/grid.json'), 'utf8'));
        assert.deepEqual(report.points.map((p: { lr: number }) => p.lr), [1e-4, 1e-3]);
        assert.equal(report.base.trainSize, 16);
      },
    },
    failing: { args: ['grid', '--model', 'tests/fixtures', '--methods', 'frozen', '--lrs', '1e-3', '--epochs', '1', '--train-size', '16', '--val-size', '8', '--output', tmp('grid-failing')], shows: /tests\/fixtures lacks config\.json/ },
    malformed: { args: ['grid', '--methods', 'full,bert'], shows: /--methods takes a comma-separated list of frozen\|full\|adapter\|lora, not "full,bert"/ },
  },
  bench: {
    good: { args: ['bench', '--size', 'bert-tiny', '--batch', '2', '--seq', '16', '--steps', '1', '--backend', 'wasm', '--threads', '1'], shows: /"train_samples_per_s"/ },
    failing: { args: ['bench', '--size', 'bert-tiny', '--batch', '2', '--seq', '16', '--steps', '1'], env: { FINETUNE_LAB_BACKEND: 'nope' }, shows: /FINETUNE_LAB_BACKEND="nope" is not a backend/ },
    malformed: { args: ['bench', '--size', 'bert-huge'], shows: /--size: unknown size "bert-huge"/ },
  },
  pretrain: {
    good: { args: ['pretrain', '--size', 'L1-H32-A2', '--steps', '2', '--seq', '32', '--batch', '2', '--eval-every', '0', '--backend', 'wasm', '--output', tmp('pretrain')], shows: /"completed":true/ },
    failing: { args: ['pretrain', '--resume', tmp('empty')], shows: /holds no pretraining run to resume/ },
    malformed: { args: ['pretrain', '--steps', '2', '--warmup', '1'], shows: /--warmup takes a number at least 0 and below 1, not "1"/ },
  },
  curve: {
    good: { args: ['curve', '--run', tmp('pretrain'), '--methods', 'frozen', '--output', tmp('curve.json'), '--backend', 'wasm'], env: SMALL, shows: /"complete":true,"points":1,"doublings":\{"hours":\[[\d.]+,[\d.]+,[\d.]+\],"methods":\{"frozen":\{"accuracy":\[([\d.]+),\1,\1\],"gains":\[0,0\]\}\}\}/,
      check: () => assert.equal(JSON.parse(readFileSync(tmp('curve.json'), 'utf8')).points[0].model, 'model') },
    failing: { args: ['curve', '--run', tmp('empty')], shows: /empty has no model with a pretraining\.json/ },
    malformed: { args: ['curve', '--run', tmp('pretrain'), '--methods', 'frozen,guessing'], shows: /--methods takes a comma-separated list of frozen\|full\|adapter\|lora\|prompting/ },
  },
  tutorial: {
    good: {
      args: ['tutorial', 'tests/notebooks/good.ipynb', '--profile', 'ci', '--out', tmp('report'), '--executed', tmp('tutorial')],
      shows: /The tutorial ran in .*\nReport \(2 pages\)/,
      check: () => assert.match(readFileSync(tmp('report/index.html'), 'utf8'), /good/),
    },
    failing: { args: ['tutorial', 'README.md', '--out', tmp('report-failing'), '--executed', tmp('tutorial')], shows: /Cannot read the notebook README\.md/ },
    malformed: { args: ['tutorial', '--profile', 'fast'], shows: /--profile: unknown profile "fast"; use one of ci, default, article/ },
  },
  prompt: {
    good: { args: ['prompt', '--model', TINY_MLM, '--fill', 'the movie was [MASK] .', '--top-k', '2'], env: { FINETUNE_LAB_BACKEND: 'cpu' }, shows: /"fillings"/,
      check: (r) => assert.equal((lastJson(r).fillings as unknown[][])[0].length, 2) },
    failing: { args: ['prompt', '--model', TINY_MLM, '--fill', 'no blank here'], env: { FINETUNE_LAB_BACKEND: 'cpu' }, shows: /has no \[MASK\]/ },
    malformed: { args: ['prompt', '--top-k', 'many'], shows: /--top-k takes a positive whole number, not "many"/ },
  },
  export: {
    good: { args: ['export', '--model', TINY_CLS, '--output', tmp('onnx')], shows: /"task":"sequence-classification"/,
      check: () => assert.equal(JSON.parse(readFileSync(tmp('onnx/config.json'), 'utf8')).model_type, 'bert') },
    failing: { args: ['export', '--model', TINY_MLM, '--task', 'sequence-classification', '--output', tmp('onnx-mlm')], shows: /BertForPreTraining checkpoint, not a classifier/ },
    malformed: { args: ['export', '--model', TINY_CLS, '--task', 'translation', '--output', tmp('onnx-bad')], shows: /--task: unknown task "translation"; use one of sequence-classification, feature-extraction, fill-mask/ },
  },
  // `lab` hands its arguments to Jupyter, whose exit codes follow the same rule; a good call would
  // start a server that runs until stopped, so `lab --help` stands in for it.
  lab: {
    good: { args: ['lab', '--help'], shows: /^Usage: finetune-lab lab/ },
    failing: { args: ['lab', '--no-browser', '--port=abc'], shows: /port.*expected an int/ },
    malformed: { args: ['lab', '--no-browser', '--no-such-jupyter-option'], shows: /unrecognized arguments: --no-such-jupyter-option|Unrecognized flag/ },
  },
};

before(() => {
  execFileSync(process.execPath, ['kernel-setup/setup.mjs', '--for', 'tests'], { cwd: ROOT, stdio: 'inherit' });
  writeFileSync(tmp('texts.json'), JSON.stringify(['i like strawberries']));
  writeFileSync(tmp('broken.json'), '["i like');
  writeFileSync(tmp('ids.json'), JSON.stringify({ input_ids: [[101, 1045, 2066, 13137, 20968, 102]] }));
  mkdirSync(tmp('empty'));
});
after(() => rmSync(TMP, { recursive: true, force: true }));

test('every command has a good, a failing and a malformed call here', () => {
  assert.deepEqual(Object.keys(CALLS).sort(), Object.keys(COMMANDS).sort());
});

test('--version and -V print package.json\'s version; no command or an unknown one is a usage error', async () => {
  const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = await cli([flag]);
    assert.deepEqual([r.code, r.stdout], [0, `${version}\n`], r.stderr);
  }
  const none = await cli([]);
  assert.equal(none.code, 2);
  assert.match(none.stdout, /^Usage: finetune-lab COMMAND/);
  const unknown = await cli(['fly']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "fly"/);
});

test('-h and --help on every command print its usage', async () => {
  for (const name of Object.keys(COMMANDS)) {
    for (const flag of ['-h', '--help']) {
      const r = await cli([name, flag]);
      assert.equal(r.code, 0, `${name} ${flag}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: finetune-lab ${name}`), `${name} ${flag}`);
      assert.match(r.stdout, /-h, --help/, `${name}'s usage does not list -h`);
    }
  }
});

test('an unknown option or a missing value is a usage error (exit 2) with the command\'s usage', async () => {
  const unknown = await cli(['tokenize', '--tokeniser', 'x']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /finetune-lab tokenize: Unknown option '--tokeniser'[\s\S]*Usage: finetune-lab tokenize --tokenizer DIR\|ID --input FILE/);
  const missing = await cli(['train', '--method']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /Option '--method <value>' argument missing[\s\S]*Usage: finetune-lab train/);
});

for (const [name, calls] of Object.entries(CALLS)) {
  test(`${name}: exit code 0 for a good call, 1 for a failing one, 2 for a malformed one`, async () => {
    for (const [kind, code] of [['good', 0], ['failing', 1], ['malformed', 2]] as const) {
      const call = calls[kind];
      const r = await cli(call.args, call.env);
      const shown = `finetune-lab ${call.args.join(' ')}:\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
      assert.equal(r.code, code, `${kind} call: ${shown}`);
      assert.match(kind === 'good' ? r.stdout : kind === 'failing' ? r.stdout + r.stderr : r.stderr, call.shows, `${kind} call: ${shown}`);
      if (kind === 'malformed' && name !== 'lab') assert.match(r.stderr, new RegExp(`Usage: finetune-lab ${name}`), `the usage is missing: ${shown}`);
      call.check?.(r);
    }
  });
}
