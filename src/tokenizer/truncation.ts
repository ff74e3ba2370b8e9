/**
 * Truncation of one sequence or a pair to a token budget, with the same arithmetic as the Rust
 * `tokenizers` library behind Python's `BertTokenizer` (`truncate_encodings`, right side, stride 0).
 * Special tokens are added after truncation, so a truncated row still ends with `[SEP]`.
 */

/** `true` means `'longest_first'`, as in Python. */
export type Truncation = boolean | 'longest_first' | 'only_first' | 'only_second';

/**
 * Cuts `a` (and `b`) so that together they hold at most `budget` tokens (max_length minus the
 * special tokens). `longest_first` for a pair: the shorter sequence keeps its length if it fits in
 * half the budget, otherwise both get half (the longer one the odd token).
 */
export function truncateTokens<T>(a: T[], b: T[] | null, budget: number, strategy: Exclude<Truncation, false>): [T[], T[] | null] {
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
