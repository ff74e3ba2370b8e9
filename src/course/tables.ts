/** Rows for `table()` that the method notebooks show alike. */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Prediction } from '../finetune/predict.js';
import type { EpochRecord } from '../train/trainer.js';

/** One row per epoch: losses, validation accuracy and F1, time and throughput. */
export function historyRows(history: readonly EpochRecord[]): Record<string, number>[] {
  return history.map((r) => ({
    epoch: r.epoch, 'train loss': +r.trainLoss.toFixed(4), 'val loss': +r.valLoss.toFixed(4),
    'val accuracy': +r.valAccuracy.toFixed(3), 'val F1': +r.valF1.toFixed(3), seconds: +r.seconds.toFixed(1), 'samples/s': +r.samplesPerSecond.toFixed(1),
  }));
}

/** One row per review: its start, the predicted class and the probability of the positive one (class 1). */
export function predictionRows(predictions: readonly Prediction[]): { review: string; prediction: string; 'P(positive)': number }[] {
  return predictions.map((p) => ({ review: p.text.slice(0, 70) + '…', prediction: p.labelName, 'P(positive)': +p.probabilities[1].toFixed(3) }));
}

/** The files of a directory (a saved model) with their sizes in kB. */
export function fileRows(dir: string): { file: string; kB: number }[] {
  return readdirSync(dir).map((file) => ({ file, kB: +(statSync(join(dir, file)).size / 1024).toFixed(1) }));
}
