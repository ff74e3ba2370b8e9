/** Zero-shot sentiment by cloze prompting a masked-language model, with contextual calibration; filling in blanks. */
export { buildPrompt, MASK, REVIEW_SLOT, SENTIMENT_TEMPLATES, SENTIMENT_VERBALIZER, verbalizerIds } from './templates.js';
export type { Prompt, PromptTemplate, Verbalizer } from './templates.js';
export { argmaxRows, calibrate, chooseTemplate, classLogProbs, clozeScores, compareTemplates, CONTENT_FREE_INPUTS, contentFreePrior, evaluateTemplate, fillMask } from './cloze.js';
export type { ClozeOptions, Filling, MaskedLanguageModel, TemplateChoice, TemplateEvaluation, TemplateRun } from './cloze.js';
