#!/usr/bin/env node
/**
 * `finetune-lab COMMAND [options]`: the command-line face of the library.
 * Each command lives in its own module under `src/cli/` and is loaded only when used,
 * so that `finetune-lab env` does not pay for loading the notebook runner and vice versa.
 *
 * Exit codes: 0 success, 1 failure, 2 a wrong command line (printed with the command's usage).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { UsageError } from './args.js';
import { COMMANDS } from './commands.js';

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `Usage: finetune-lab COMMAND [options]
       finetune-lab --version

Commands:
${lines.join('\n')}

Run finetune-lab COMMAND --help for a command's options.`;
}

/** package.json's version: two folders up from src/cli (tsx) and from dist/cli alike. */
function version(): string {
  return (JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
}

/** Whether `args` ask for help: -h or --help before any `--`. */
function wantsHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '-h' || a === '--help');
}

/** The synopsis of a command's usage: its lines up to the first blank one. */
function synopsis(text: string): string {
  return text.split(/\n\s*\n/)[0];
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    console.log(version());
    return 0;
  }
  if (!name || name === '--help' || name === '-h') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`finetune-lab: unknown command "${name}".\n\n${usage()}`);
    return 2;
  }
  const module = await command.load();
  if (wantsHelp(rest)) {
    console.log(module.usage);
    return 0;
  }
  try {
    return await module.run(rest);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`finetune-lab ${name}: ${err.message}\n\n${synopsis(module.usage)}\n\nRun finetune-lab ${name} --help for all options.`);
    return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    console.error(`finetune-lab: ${err instanceof Error ? err.message : String(err)}`);
    if (process.env.FINETUNE_LAB_DEBUG && err instanceof Error) console.error(err.stack);
    process.exitCode = 1;
  },
);
