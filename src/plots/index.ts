/** Charts and tables for notebooks and reports: plotly figures (plot.ts, figures.ts) and HTML tables (table.ts). */
export * from './plot.js';
