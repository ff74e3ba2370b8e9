/**
 * Bag-of-words features as scikit-learn's `TfidfVectorizer(ngram_range=(1, 2), min_df=2,
 * sublinear_tf=True)` makes them: a vocabulary of words and word pairs learnt from the training
 * texts only, each text a sparse, L2-normalised vector of tf-idf weights.
 */

/** One text's features: the vocabulary positions present and their weights. */
export interface SparseRow {
  indices: Int32Array;
  values: Float64Array;
}

export interface VectorizerOptions {
  /** Longest run of consecutive words that is one feature: 1 (words) or 2 (words and word pairs, default). */
  ngrams?: 1 | 2;
  /** Keep only terms found in at least this many training texts (default 2): rarer ones cannot generalise. */
  minDf?: number;
  /** Keep at most this many terms, the most frequent ones (default 50,000). */
  maxFeatures?: number;
  /** `tfidf` (default): sublinear term frequency times inverse document frequency; `binary`: 1 if present. */
  weighting?: 'tfidf' | 'binary';
}

const DEFAULTS: Required<VectorizerOptions> = { ngrams: 2, minDf: 2, maxFeatures: 50_000, weighting: 'tfidf' };

/** Words of two or more letters or digits, lower-cased (scikit-learn's default token pattern). */
const WORD = /[\p{L}\p{N}_]{2,}/gu;

function terms(text: string, ngrams: number): string[] {
  const words: string[] = text.toLowerCase().match(WORD) ?? [];
  if (ngrams === 1) return words;
  const pairs = words.slice(1).map((w, i) => `${words[i]} ${w}`);
  return words.concat(pairs);
}

export class BagOfWords {
  /** Term of each feature position. */
  readonly vocabulary: readonly string[];
  private readonly index: Map<string, number>;
  private readonly idf: Float64Array;
  readonly options: Required<VectorizerOptions>;

  private constructor(vocabulary: string[], idf: Float64Array, options: Required<VectorizerOptions>) {
    this.vocabulary = vocabulary;
    this.index = new Map(vocabulary.map((term, i) => [term, i]));
    this.idf = idf;
    this.options = options;
  }

  /** Learns the vocabulary and document frequencies from `texts` (the training texts). */
  static fit(texts: readonly string[], options: VectorizerOptions = {}): BagOfWords {
    const o = { ...DEFAULTS, ...options };
    if (texts.length === 0) throw new Error('BagOfWords.fit needs at least one training text');
    const df = new Map<string, number>();
    for (const text of texts) {
      for (const term of new Set(terms(text, o.ngrams))) df.set(term, (df.get(term) ?? 0) + 1);
    }
    // Most frequent first; ties by the term itself, so the vocabulary never depends on Map order.
    const kept = [...df].filter(([, count]) => count >= o.minDf)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, o.maxFeatures);
    if (kept.length === 0) throw new Error(`no term occurs in ${o.minDf} or more of the ${texts.length} training texts; lower minDf or give more texts`);
    // Smoothed idf, as if one extra document held every term once: never zero, never infinite.
    const idf = Float64Array.from(kept, ([, count]) => Math.log((1 + texts.length) / (1 + count)) + 1);
    return new BagOfWords(kept.map(([term]) => term), idf, o);
  }

  get size(): number {
    return this.vocabulary.length;
  }

  /** The features of `text`; terms outside the vocabulary are ignored. */
  transform(text: string): SparseRow {
    const counts = new Map<number, number>();
    for (const term of terms(text, this.options.ngrams)) {
      const i = this.index.get(term);
      if (i !== undefined) counts.set(i, (counts.get(i) ?? 0) + 1);
    }
    const indices = Int32Array.from([...counts.keys()].sort((a, b) => a - b));
    const values = Float64Array.from(indices, (i) => this.options.weighting === 'binary' ? 1 : (1 + Math.log(counts.get(i)!)) * this.idf[i]);
    let squares = 0;
    for (const v of values) squares += v * v;
    const norm = Math.sqrt(squares);
    if (norm > 0) for (let k = 0; k < values.length; k++) values[k] /= norm;
    return { indices, values };
  }
}
