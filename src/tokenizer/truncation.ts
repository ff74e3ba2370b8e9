/**
 * Truncation of one sequence or a pair to a token budget, with the same arithmetic as the Rust
 * `tokenizers` library behind Python's `BertTokenizer` (`truncate_encodings`, right side, stride 0),
 * and head+tail truncation of single texts (Sun et al., 2019). Special tokens are added after
 * truncation, so a truncated row still starts with `[CLS]` and ends with `[SEP]`.
 */
import { wholeNumber } from '../numbers.js';

/** The strategies by name. */
export const TRUNCATION_STRATEGIES = ['longest_first', 'only_first', 'only_second', 'head', 'head+tail'] as const;

/**
 * `true` means `'longest_first'`, as in Python. `head` and `head+tail` cut single texts only:
 * `head` keeps a long text's first tokens (what every pair strategy does to one text),
 * `head+tail` its first and its last.
 */
export type Truncation = boolean | (typeof TRUNCATION_STRATEGIES)[number];

/**
 * The head's share of a head+tail budget when none is given: a quarter, the rest to the tail.
 * Sun et al. ("How to Fine-Tune BERT for Text Classification?", 2019) kept 128 + 382 of 510
 * tokens on IMDB, which this rounds to exactly; the tail gets more because a review's verdict
 * usually comes at its end, while its opening still says what is reviewed and often how it felt.
 */
function defaultHeadTokens(budget: number): number {
  return Math.round(budget / 4);
}

/** Checks a head+tail head count against the budget it must fit in. */
function checkHeadTokens(headTokens: number, budget: number): void {
  wholeNumber('headTokens', headTokens, 0);
  if (headTokens > budget) {
    throw new RangeError(`headTokens ${headTokens} is more than the ${budget} tokens a row has for text; give at most ${budget} or raise maxLength.`);
  }
}

/** The first `headTokens` and the last `budget - headTokens` of `tokens`, or all of them when they fit. */
function headAndTail<T>(tokens: T[], budget: number, headTokens: number): T[] {
  if (tokens.length <= budget) return tokens;
  return [...tokens.slice(0, headTokens), ...tokens.slice(tokens.length - (budget - headTokens))];
}

/**
 * Cuts `a` (and `b`) so that together they hold at most `budget` tokens (max_length minus the
 * special tokens). `longest_first` for a pair: the shorter sequence keeps its length if it fits in
 * half the budget, otherwise both get half (the longer one the odd token). `head+tail` keeps
 * `headTokens` (default: defaultHeadTokens) from the start and the rest of the budget from the end.
 */
export function truncateTokens<T>(a: T[], b: T[] | null, budget: number, strategy: Exclude<Truncation, false>, headTokens?: number): [T[], T[] | null] {
  if (headTokens !== undefined && strategy !== 'head+tail') throw new Error(`headTokens applies to truncation 'head+tail' only, not '${strategy}'.`);
  if (b && (strategy === 'head' || strategy === 'head+tail')) {
    throw new Error(`truncation '${strategy}' cuts single texts; for sentence pairs use 'longest_first', 'only_first' or 'only_second'.`);
  }
  if (strategy === 'head+tail') {
    const head = headTokens ?? defaultHeadTokens(budget);
    checkHeadTokens(head, budget);
    return [headAndTail(a, budget, head), null];
  }
  const total = a.length + (b?.length ?? 0);
  if (total <= budget) return [a, b];
  if (strategy === 'only_first' || strategy === 'only_second') {
    const onFirst = strategy === 'only_first';
    if (!onFirst && !b) throw new Error("truncation 'only_second' needs sentence pairs (a textPair); use 'longest_first' for single texts.");
    const target = onFirst ? a : b!;
    const excess = total - budget;
    if (target.length <= excess) {
      throw new Error(
        `Cannot truncate with '${strategy}': the ${onFirst ? 'first' : 'second'} sequence has ${target.length} tokens but ${excess} must go. ` +
          "Use truncation 'longest_first' or a larger maxLength.",
      );
    }
    const cut = target.slice(0, target.length - excess);
    return onFirst ? [cut, b] : [a, cut];
  }
  if (!b) return [a.slice(0, budget), null];
  const swap = a.length > b.length;
  let short = swap ? b.length : a.length;
  let long = short > budget ? short : Math.max(short, budget - short);
  if (short + long > budget) {
    short = Math.floor(budget / 2);
    long = short + (budget % 2);
  }
  const [lenA, lenB] = swap ? [long, short] : [short, long];
  return [a.slice(0, lenA), b.slice(0, lenB)];
}
