/** The project's own kernels and gradients (each module says why it exists). */
export { installKernels } from './install.js';
export { explicitTransposeGradient, useExplicitTransposeGradient } from './matmul-gradient.js';
