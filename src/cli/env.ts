/** `finetune-lab env`: prints the environment report (versions, backends, selection) as one JSON object. */
import { BACKEND_NAMES } from '../backend/index.js';
import { describeEnvironment } from '../backend/environment.js';
import { choice, parseCommand } from './args.js';

export const usage = `Usage: finetune-lab env [--backend ${BACKEND_NAMES.join('|')}]

Prints one JSON object: Node and package versions, whether each TensorFlow.js backend
can run here (and on what device, or why not), and the backend that would be selected.

  --backend NAME  select NAME instead of choosing automatically (as FINETUNE_LAB_BACKEND does)
  -h, --help      show this help`;

export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand({ args, options: { backend: { type: 'string' } } });
  const report = await describeEnvironment({ backend: choice('backend', values.backend, BACKEND_NAMES) });
  console.log(JSON.stringify(report, null, 2));
  return 0;
}
