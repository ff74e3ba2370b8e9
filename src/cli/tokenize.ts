/** `finetune-lab tokenize`: a JSON file of texts (or sentence pairs) to padded, truncated model inputs. */
import { readFileSync } from 'node:fs';
import { BertTokenizer, TRUNCATION_STRATEGIES } from '../tokenizer/index.js';
import { writeFileAtomic } from '../files/atomic.js';
import { choice, existing, integer, parseCommand, required } from './args.js';

const DEFAULT_MAX_LENGTH = 250;

export const usage = `Usage: finetune-lab tokenize --tokenizer DIR|ID --input FILE [--output FILE] [--max-length N]
                          [--truncation HOW [--head-tokens N]]

Tokenizes texts as Python's tokenizer(texts, max_length=N, padding="max_length", truncation=True) does
and writes {"input_ids": [[...]], "token_type_ids": [[...]], "attention_mask": [[...]]}.

  --tokenizer DIR|ID  a Hugging Face tokenizer directory (tokenizer.json, or vocab.txt) or bert-base-uncased
  --input FILE        a JSON array of strings, or {"a": [...], "b": [...]} for sentence pairs
  --output FILE       where to write the JSON (default: standard output)
  --max-length N      row length (default ${DEFAULT_MAX_LENGTH})
  --truncation HOW    ${TRUNCATION_STRATEGIES.join('|')} (default longest_first, Python's truncation=True);
                      head and head+tail cut single texts: head+tail keeps a long text's first
                      and last tokens (Sun et al. 2019), [CLS] and [SEP] still around them
  --head-tokens N     with head+tail, the tokens kept from the start (default: a quarter of
                      the row's, 128 + 382 at --max-length 512)
  -h, --help          show this help`;

/** The texts of an input file: an array of strings, or `{a, b}` for pairs. */
function readInput(path: string): { texts: string[]; pairs?: string[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`Cannot read --input ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`--input ${path} is not valid JSON (${err instanceof Error ? err.message : String(err)}); give a JSON array of strings or {"a": [...], "b": [...]}.`);
  }
  if (Array.isArray(data)) return { texts: data };
  if (data !== null && typeof data === 'object' && Array.isArray((data as { a?: unknown }).a) && Array.isArray((data as { b?: unknown }).b)) {
    const { a, b } = data as { a: string[]; b: string[] };
    return { texts: a, pairs: b };
  }
  throw new Error(`--input ${path} must hold a JSON array of strings or {"a": [...], "b": [...]} for sentence pairs.`);
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand({
    args,
    options: {
      tokenizer: { type: 'string' },
      input: { type: 'string' },
      output: { type: 'string' },
      'max-length': { type: 'string' },
      truncation: { type: 'string' },
      'head-tokens': { type: 'string' },
    },
  });
  required(values, ['tokenizer', 'input']);
  const maxLength = integer('max-length', values['max-length']) ?? DEFAULT_MAX_LENGTH;
  const { texts, pairs } = readInput(existing('input', values.input));
  const tokenizer = await BertTokenizer.fromPretrained(values.tokenizer);
  const truncation = choice('truncation', values.truncation, TRUNCATION_STRATEGIES) ?? true;
  const headTokens = integer('head-tokens', values['head-tokens'], 0);
  const batch = tokenizer.encode(texts, { textPair: pairs, maxLength, padding: 'max_length', truncation, headTokens });
  const json = JSON.stringify(batch);
  if (values.output) writeFileAtomic(values.output, json);
  else process.stdout.write(`${json}\n`);
  return 0;
}
