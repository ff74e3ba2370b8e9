/** Runs `finetune-lab` from the sources, as a user would from a terminal, and collects what it printed. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export const PROJECT = join(__dirname, '..', '..');

/** Starts `finetune-lab ARGS`; `done` resolves when it exits. */
export function startCli(args: string[], env: NodeJS.ProcessEnv = process.env): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: PROJECT, env });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c) => { stdout += c; });
  child.stderr!.on('data', (c) => { stderr += c; });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done };
}

export function cli(args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult> {
  return startCli(args, env).done;
}
