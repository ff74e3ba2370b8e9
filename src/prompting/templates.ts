/**
 * Cloze prompts: a review placed in a sentence with a blank, `{review} Overall, the movie was [MASK].`,
 * and verbalisers, the words whose probability in the blank stands for each class.
 */
import type { TruncationOptions } from '../data/loader.js';
import { truncateTokens, type BertTokenizer } from '../tokenizer/index.js';

/** A prompt with `{review}` where the text goes and one `[MASK]`. */
export interface PromptTemplate {
  name: string;
  text: string;
}

export const REVIEW_SLOT = '{review}';
export const MASK = '[MASK]';

/** Short templates, and longer ones that say more about the task (the article's advice on detailed prompts). */
export const SENTIMENT_TEMPLATES: readonly PromptTemplate[] = [
  { name: 'overall', text: '{review} Overall, the movie was [MASK].' },
  { name: 'it-was', text: '{review} It was [MASK].' },
  { name: 'in-short', text: '{review} In short, a [MASK] film.' },
  { name: 'prefix', text: 'A [MASK] movie. {review}' },
  { name: 'detailed', text: 'Here is a movie review. {review} The reviewer\'s opinion of the movie: it was [MASK].' },
];

/** Words for each class, by class id: IMDB's 0 = negative, 1 = positive. */
export type Verbalizer = readonly (readonly string[])[];

export const SENTIMENT_VERBALIZER: Verbalizer = [
  ['terrible', 'bad', 'awful', 'horrible', 'boring'],
  ['great', 'good', 'excellent', 'wonderful', 'amazing'],
];

/** A prompt as model input: ids with [CLS] and [SEP], and where the blank is. */
export interface Prompt {
  inputIds: number[];
  maskPosition: number;
  /** Review tokens cut to make the prompt fit. */
  droppedTokens: number;
}

function templateParts(template: PromptTemplate): [string, string] {
  const slot = template.text.indexOf(REVIEW_SLOT);
  const masks = template.text.split(MASK).length - 1;
  if (slot < 0 || template.text.indexOf(REVIEW_SLOT, slot + 1) >= 0 || masks !== 1) {
    throw new Error(`template ${JSON.stringify(template.text)} must contain ${REVIEW_SLOT} once and ${MASK} once`);
  }
  return [template.text.slice(0, slot), template.text.slice(slot + REVIEW_SLOT.length)];
}

/**
 * The template filled with the review, cut to `maxLength` tokens by shortening the review (as
 * `cut` says: from its end by default, from its middle with head+tail), never the template, so the blank is always there. WordPiece splits at spaces and
 * punctuation, so tokenizing the parts apart gives the tokens of the whole.
 */
export function buildPrompt(tokenizer: BertTokenizer, template: PromptTemplate, review: string, maxLength: number, cut: TruncationOptions = {}): Prompt {
  const [before, after] = templateParts(template).map((part) => tokenizer.convertTokensToIds(tokenizer.tokenize(part)));
  const budget = maxLength - 2 - before.length - after.length;
  if (budget < 1) throw new Error(`template "${template.name}" takes ${maxLength - budget} tokens, leaving no room for the review in ${maxLength}; raise maxLength or shorten the template`);
  const words = tokenizer.convertTokensToIds(tokenizer.tokenize(review));
  const [kept] = truncateTokens(words, null, budget, cut.truncation ?? 'head', cut.headTokens);
  const inputIds = [tokenizer.clsTokenId, ...before, ...kept, ...after, tokenizer.sepTokenId];
  const inBefore = before.indexOf(tokenizer.maskTokenId);
  const maskPosition = inBefore >= 0 ? 1 + inBefore : 1 + before.length + kept.length + after.indexOf(tokenizer.maskTokenId);
  return { inputIds, maskPosition, droppedTokens: words.length - kept.length };
}

/** The vocabulary ids of a verbaliser's words; each word must be a single token. */
export function verbalizerIds(tokenizer: BertTokenizer, verbalizer: Verbalizer): number[][] {
  return verbalizer.map((words) => words.map((word) => {
    const pieces = tokenizer.tokenize(word);
    if (pieces.length !== 1) throw new Error(`verbaliser word ${JSON.stringify(word)} is ${pieces.length} tokens (${pieces.join(' ')}); use words that are one token`);
    return tokenizer.convertTokensToIds(pieces)[0];
  }));
}
