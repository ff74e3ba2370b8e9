/**
 * The course layer: what the notebooks, the tutorial and the command line share and the library
 * does not know about. The settings profiles and their environment variables, the results ledger,
 * where the course writes, and the helpers the notebooks call.
 */
export { loadSettings, backendOptions, ENV_PREFIX, PROFILE_NAMES } from './settings.js';
export type { Settings, ProfileName } from './settings.js';
export { recordResult, readResults } from './results.js';
export type { MethodResult } from './results.js';
export { RESULTS_FILE, LIVE_RUN_DIR, FIGURES_DIR, GRID_DIR, DEPLOY_DIR, runDir } from './paths.js';
export { courseFinetuneOptions, courseLoaders, courseRunOptions, recordRun } from './runs.js';
export { clozeSentiment } from './prompting.js';
export { accuracyAt, CURVE_METHODS, lastDoublings, pretrainingCurve, runModels } from './curve.js';
export type { Curve, CurveMethod, CurveOptions, CurvePoint, Doubling } from './curve.js';
export type { PromptingSummary } from './prompting.js';
export type { TrainingRun } from './runs.js';
export { SAMPLE_REVIEWS } from './reviews.js';
export { fileRows, historyRows, predictionRows } from './tables.js';
export { BASELINE, COURSE_METHODS, chanceLevel, compareMethods, comparisonTable, isPrompting, ledgerFor, ledgerReport, methodName, noiseMargin, settingsWarnings } from './comparison.js';
export type { Comparison, ComparisonRow, Ledger, LedgerEntry } from './comparison.js';
export { faqAllWeights, faqBaseline, faqCost, faqPreamble, faqPrompting } from './faq.js';
export { accuracyFigure, costFigure, tradeoffFigure, trainableFigure } from './charts.js';
export { loadClassifier, loadMaskedLm } from './models.js';
export type { ClassifierTask, CourseClassifier, MaskedLm } from './models.js';
export { bestRun, exportPretrained, loadRun, TRUNCATION_NOTE } from './deploy.js';
export type { BestRun, ExportPretrainedOptions, RunToLoad } from './deploy.js';
