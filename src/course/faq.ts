/**
 * The article's FAQ, answered from a run's own numbers (notebook 07): each answer is Markdown
 * written from the comparison, so that other settings, another model or another backend get the
 * answers their numbers support, and "not measured yet" where the ledger lacks what a question needs.
 */
import { BASELINE, isPrompting, type Comparison, type ComparisonRow } from './comparison.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
/** Shares of the weights can be tiny: two significant digits below 1%. */
const share = (x: number) => `${x > 0 && x < 0.01 ? (100 * x).toPrecision(2) : (100 * x).toFixed(1)}%`;
const points = (x: number) => `${(100 * Math.abs(x)).toFixed(1)} points`;
const seconds = (s: number) => (s < 120 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`);
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const count = (n: number) => n.toLocaleString('en-US');

/** "better", "worse" or "no different" within the test set's noise. */
function versus(a: number, b: number, margin: number): string {
  if (Math.abs(a - b) <= margin) return `within the noise of (${points(a - b)} from)`;
  return a > b ? `${points(a - b)} better than` : `${points(a - b)} worse than`;
}

/** The rows the answers are about: the fine-tuned methods, prompting, the best fine-tuned one. */
function roles(c: Comparison): { trained: ComparisonRow[]; prompting?: ComparisonRow; best?: ComparisonRow } {
  const trained = c.rows.filter((r) => r.method !== BASELINE && !isPrompting(r.method));
  const best = trained.length > 0 ? trained.reduce((x, y) => (y.accuracy > x.accuracy ? y : x)) : undefined;
  return { trained, prompting: c.rows.find((r) => isPrompting(r.method)), best };
}

/** Whether `r` beat chance by more than the noise. */
const learnt = (c: Comparison, r: ComparisonRow) => r.accuracy - c.chance > c.margin;

/** What the answers rest on, or why they should be read with care. */
export function faqPreamble(c: Comparison): string {
  const { best } = roles(c);
  const { profile, epochs, maxLength } = c.settings;
  const caveat: string[] = [];
  if (best && best.accuracy - c.chance <= c.margin) {
    caveat.push(`**Read with care:** no BERT method beat chance (${pct(c.chance)}) by more than the noise on this run ` +
      `(best: ${best.name}, ${pct(best.accuracy)}). With the "${profile}" profile (${c.trainSize} training reviews, ` +
      `${epochs} epoch${epochs === 1 ? '' : 's'}, maxLength ${maxLength}) there is too little training for the methods to differ; ` +
      'run the `default` profile for numbers that mean something.');
  }
  if (!best) caveat.push('No fine-tuning method is recorded for this profile, so most answers below have nothing to go on: run notebooks 03 to 06 first.');
  return caveat.length > 0 ? caveat.join('\n\n') : `All numbers below come from the "${profile}" profile: ${c.trainSize} training reviews, ${c.testSize} test reviews.`;
}

/** Is BERT better than counting words? */
export function faqBaseline(c: Comparison): string {
  const { trained, best } = roles(c);
  const b = c.baseline;
  if (!best) return `Not measured yet: the baseline alone scored ${pct(b.accuracy)}.`;
  const beaten = trained.filter((r) => r.accuracy - b.accuracy > c.margin).map((r) => r.name);
  return [
    `The best BERT method here, **${best.name}**, scored ${pct(best.accuracy)}: ${versus(best.accuracy, b.accuracy, c.margin)} ` +
    `the bag-of-words baseline (${pct(b.accuracy)}), which trained in ${seconds(b.seconds)} against ${seconds(best.seconds)}.`,
    beaten.length > 0
      ? `Methods that clearly beat the baseline: ${beaten.join(', ')}. That margin is what BERT's pretraining buys: it reads words in context (negations, sarcasm, "not bad at all"), which a bag of words cannot.`
      : 'No BERT method clearly beat the baseline on this run. A bag of words is a strong baseline for sentiment, where single words carry much of the signal. ' +
        `BERT's advantage needs a well-pretrained model (this run's: ${(best.model ?? '?').split('/').pop()}, ${count(best.total)} weights; ` +
        'its model card says how long it was pretrained) and enough fine-tuning (data, epochs, sequence length) to show.',
  ].join('\n\n');
}

/** When should I fine-tune instead of prompting? */
export function faqPrompting(c: Comparison): string {
  const { prompting, best } = roles(c);
  if (!prompting) return 'Prompting (notebook 06) is not recorded for this profile, so there is nothing to compare yet.';
  if (!best) return `Prompting scored ${pct(prompting.accuracy)} without training anything; no fine-tuned method is recorded to compare it with.`;
  if (!learnt(c, best) && !learnt(c, prompting)) {
    return `Not answerable from this run: neither prompting (${pct(prompting.accuracy)}) nor the best fine-tuned method (${best.name}, ${pct(best.accuracy)}) ` +
      `did better than chance (${pct(c.chance)}) by more than the noise.`;
  }
  const gain = best.accuracy - prompting.accuracy;
  return [
    `Cloze prompting trained ${count(prompting.trainable)} weights and needed no labelled training reviews; it scored ${pct(prompting.accuracy)}, ` +
    `${versus(prompting.accuracy, c.chance, c.margin)} chance and ${versus(prompting.accuracy, c.baseline.accuracy, c.margin)} the bag-of-words baseline.`,
    `The best fine-tuned method (${best.name}) used ${count(best.trainSize)} labelled reviews and ${seconds(best.seconds)} of training ` +
    `to score ${pct(best.accuracy)}: ${versus(best.accuracy, prompting.accuracy, c.margin)} prompting.`,
    gain > c.margin
      ? `So: **fine-tune when you have labelled examples** (here ${count(best.trainSize)} of them bought ${points(gain)}). Prompt when you have none, or need an answer before any training.`
      : 'Here fine-tuning did not pay for itself: prompting was as good without any labelled data. Prompting is the better choice until fine-tuning clearly wins on your data.',
  ].join('\n\n');
}

/** Do I need to train all the weights? */
export function faqAllWeights(c: Comparison): string {
  const { trained } = roles(c);
  const full = c.rows.find((r) => r.method === 'full');
  const partial = trained.filter((r) => r.method !== 'full');
  if (!full || partial.length === 0) {
    return 'This needs full fine-tuning (notebook 04) and at least one of frozen features, adapters or LoRA (03, 05) recorded for this profile.';
  }
  if (!learnt(c, full)) {
    return `Not answerable from this run: full fine-tuning itself scored ${pct(full.accuracy)}, no better than chance (${pct(c.chance)}) by more than the noise, ` +
      'so matching it says nothing.';
  }
  const lines = partial.map((r) => `- **${r.name}** trained ${share(r.trainable / Math.max(1, r.total))} of the weights ` +
    `(${count(r.trainable)}) and scored ${pct(r.accuracy)}, ${versus(r.accuracy, full.accuracy, c.margin)} full fine-tuning; ` +
    `training took ${seconds(r.seconds)} (full: ${seconds(full.seconds)}) and peaked at ${mib(r.memoryBytes)} (full: ${mib(full.memoryBytes)}).`);
  const asGood = partial.filter((r) => full.accuracy - r.accuracy <= c.margin);
  const cheapest = asGood.reduce((x: ComparisonRow | undefined, y) => (!x || y.trainable < x.trainable ? y : x), undefined);
  lines.push('', cheapest
    ? `So: **no.** ${cheapest.name} matched full fine-tuning (within the noise) while training ${share(cheapest.trainable / Math.max(1, cheapest.total))} of the weights. ` +
      'A model adapted this way is also cheap to store: only the trained weights need saving, next to one shared copy of BERT.'
    : `Here, yes: full fine-tuning (${pct(full.accuracy)}) beat every method that trains fewer weights by more than the noise.`);
  return lines.join('\n');
}

/** How much data and compute does each need? */
export function faqCost(c: Comparison): string {
  const { rows } = c;
  const lines = rows.map((r) => `- **${r.name}**: ${isPrompting(r.method) ? 'no labelled training reviews' : `${count(r.trainSize)} labelled reviews`}, ` +
    `${seconds(r.seconds)} of training${r.reviewsPerSecond > 0 && !isPrompting(r.method) ? ` (${r.reviewsPerSecond.toFixed(1)} reviews/s)` : ''}, peak memory ${mib(r.memoryBytes)}.`);
  const timed = rows.filter((r) => r.seconds > 0);
  if (timed.length >= 2) {
    const [fastest, slowest] = [timed.reduce((x, y) => (y.seconds < x.seconds ? y : x)), timed.reduce((x, y) => (y.seconds > x.seconds ? y : x))];
    lines.push('', `The slowest, ${slowest.name}, took ${(slowest.seconds / fastest.seconds).toFixed(0)} times as long as the fastest, ${fastest.name}. ` +
      `Memory ranged from ${mib(Math.min(...rows.map((r) => r.memoryBytes)))} to ${mib(Math.max(...rows.map((r) => r.memoryBytes)))}.`);
  }
  const full = rows.find((r) => r.method === 'full');
  if (full && rows.every((r) => r.memoryBytes <= full.memoryBytes)) {
    lines.push('', `Full fine-tuning needed the most memory (${mib(full.memoryBytes)}): it keeps a gradient and the optimizer's state for every weight, ` +
      'which is what the methods that train fewer weights save.');
  }
  const backends = [...new Set(rows.flatMap((r) => (r.backend === undefined ? [] : [r.backend])))];
  if (backends.length > 0) lines.push('', `Measured on the ${backends.join(', ')} backend: times change with the hardware, accuracies should not.`);
  return lines.join('\n');
}
