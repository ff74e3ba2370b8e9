/**
 * The pretraining step alone, as src/bench/torch_mlm_reference.py does it: a BertForMaskedLM of a
 * pretraining size on random ids `[1000, vocab)`, 15% of the tokens chosen at random with random
 * targets, dropout 0.1, the loss at the chosen tokens only, clipping at 1, AdamW (lr 1e-3, weight
 * decay 0.01). No corpus, no evaluation: the step's time and, with `--profile`, where it goes.
 *
 *   node dist/bench/mlm.js [--size bert-tiny] [--batch 32] [--seq 128] [--threads 2] [--steps 5] [--profile] [--by-shape] [--xnnpack]
 *
 * Prints one JSON line: `train_windows_per_s` (as the reference's), the process's CPU
 * milliseconds per step (steadier than wall time on a shared machine), and with `--profile` the
 * summed kernel milliseconds of one more step (tf.profile; scopes such as FinetuneLabLinear count
 * the kernels inside them again). `--xnnpack` runs the matrix products on XNNPACK instead of OpenBLAS,
 * as where OpenBLAS is not installed.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/index.js';
import { BertForMaskedLM } from '../bert/heads.js';
import { mulberry32 } from '../data/random.js';
import { round } from '../numbers.js';
import { maskedLmLoss } from '../pretrain/objective.js';
import { parseSize, sizeConfig } from '../pretrain/sizes.js';
import { AdamW, trainerParamGroups } from '../train/optimizer.js';
import { trainStep } from '../train/step.js';
import { profileStep } from './bert.js';

const VOCAB = 30522;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: 'bert-tiny' },
      batch: { type: 'string', default: '32' },
      seq: { type: 'string', default: '128' },
      threads: { type: 'string', default: '2' },
      steps: { type: 'string', default: '5' },
      profile: { type: 'boolean', default: false },
      'by-shape': { type: 'boolean', default: false },
      xnnpack: { type: 'boolean', default: false },
    },
  });
  const [batch, seq, steps] = [values.batch, values.seq, values.steps].map(Number);
  const backend = await initBackend({ backend: 'wasm', threads: Number(values.threads), blas: values.xnnpack ? null : undefined, quiet: true });
  const model = new BertForMaskedLM(sizeConfig(parseSize(values.size), VOCAB), { seed: 0 });
  const params = model.params.trainable();
  const optimizer = new AdamW(trainerParamGroups(params, 0.01), { lr: 1e-3, weightDecay: 0.01 });
  const random = mulberry32(0);
  const draw = () => 1000 + Math.floor(random() * (VOCAB - 1000));
  const positions = Array.from({ length: batch * seq }, (_, i) => i).filter(() => random() < 0.15);
  const batchTensors = {
    inputIds: tf.tensor2d(Array.from({ length: batch * seq }, draw), [batch, seq], 'int32'),
    attentionMask: tf.ones([batch, seq], 'int32') as tf.Tensor2D,
    positions: tf.tensor1d(positions, 'int32'),
    targets: tf.tensor1d(positions.map(draw), 'int32'),
    count: positions.length,
  };
  let step = 0;
  const run = async () => {
    await trainStep((_, context) => ({ loss: maskedLmLoss(model, batchTensors, context).loss }), {
      optimizer, params, lr: 1e-3, dropoutSeed: 1, step: step++, maxGradNorm: 1, nonFinite: (loss) => `the loss became ${loss}`,
    });
  };
  try {
    await run(); // warm-up
    const [start, cpu] = [performance.now(), process.cpuUsage()];
    for (let i = 0; i < steps; i++) await run();
    const seconds = (performance.now() - start) / 1000;
    const used = process.cpuUsage(cpu);
    const result: Record<string, unknown> = {
      impl: 'finetune-lab', backend: backend.name, device: backend.device, threads: Number(values.threads), size: values.size, batch, seq, masked_per_step: positions.length,
      train_windows_per_s: round((batch * steps) / seconds, 3), cpu_ms_per_step: round((used.user + used.system) / 1000 / steps, 1),
    };
    if (values.profile) result.profile = (await profileStep(run, values['by-shape'])).kernels;
    console.log(JSON.stringify(result));
  } finally {
    optimizer.dispose();
    model.dispose();
    tf.dispose([batchTensors.inputIds, batchTensors.attentionMask, batchTensors.positions, batchTensors.targets]);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
