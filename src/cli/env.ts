/** `finetune-lab env`: prints the environment report (versions, backends, selection) as one JSON object. */
import { parseArgs } from 'node:util';
import { BACKEND_NAMES, BackendName } from '../backend/index.js';
import { describeEnvironment } from '../backend/environment.js';

const HELP = `Usage: finetune-lab env [--backend ${BACKEND_NAMES.join('|')}]

Prints one JSON object: Node and package versions, whether each TensorFlow.js backend
can run here (and on what device, or why not), and the backend that would be selected.

  --backend NAME  select NAME instead of choosing automatically (as FINETUNE_LAB_BACKEND does)
  --help          show this help`;

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { backend: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.backend !== undefined && !(BACKEND_NAMES as readonly string[]).includes(values.backend)) {
    throw new Error(`--backend ${values.backend} is not a backend; use one of ${BACKEND_NAMES.join(', ')}`);
  }
  const report = await describeEnvironment({ backend: values.backend as BackendName | undefined });
  console.log(JSON.stringify(report, null, 2));
  return 0;
}
