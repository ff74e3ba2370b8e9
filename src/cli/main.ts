#!/usr/bin/env node
/**
 * `finetune-lab COMMAND [options]`: the command-line face of the library.
 * Each command lives in its own module under `src/cli/commands/` and is loaded only when used,
 * so that `finetune-lab env` does not pay for loading the notebook runner and vice versa.
 */
import { COMMANDS } from './commands.js';

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `Usage: finetune-lab COMMAND [options]\n\nCommands:\n${lines.join('\n')}\n\nRun finetune-lab COMMAND --help for a command's options.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
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
  return module.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    console.error(`finetune-lab: ${err instanceof Error ? err.message : String(err)}`);
    if (process.env.FINETUNE_LAB_DEBUG && err instanceof Error) console.error(err.stack);
    process.exitCode = 1;
  },
);
