/** The TensorFlow.js backend: chosen once for the process (select.ts), and what this installation runs on (environment.ts). */
export * from './select.js';
