/**
 * The kernel registry as the project uses it: kernels of its own, stock kernels replaced by
 * versions that hand the cases they do not speed up back to the stock one, and gradients.
 */
import * as tf from '@tensorflow/tfjs';
import { engine } from './engine.js';

/** What a kernel function receives. */
export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

export type KernelFunc = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/** Whether `backendName` (default: the current backend) has a kernel `name`. */
export function hasKernel(name: string, backendName = tf.getBackend()): boolean {
  return !!tf.getKernel(name, backendName);
}

/** Registers a kernel of the project's own (idempotent). */
export function defineKernel(name: string, backendName: string, kernelFunc: KernelFunc): void {
  if (!hasKernel(name, backendName)) tf.registerKernel({ kernelName: name, backendName, kernelFunc: kernelFunc as tf.KernelFunc });
}

/** Runs the current backend's kernel `name` (`attrs` may hold arrays: the kernel receives them as they are). */
export function callKernel(name: string, inputs: Record<string, tf.Tensor>, attrs?: object): tf.Tensor | tf.Tensor[] {
  return engine().runKernel(name, inputs, attrs);
}

const REPLACED = Symbol('finetune-lab kernel');
const replacements = new Map<string, boolean>();

/** The stock kernels the project asked to replace (`backend/name`), and whether each was there (the canary checks). */
export function replacedKernels(): ReadonlyMap<string, boolean> {
  return replacements;
}

/** Replaces the stock kernel `name` of `backendName` by `kernelFunc`, which may hand a call on to `stock` (idempotent). */
export function replaceKernel(name: string, backendName: string, kernelFunc: (args: KernelArgs, stock: (args: KernelArgs) => tf.TensorInfo) => tf.TensorInfo): void {
  const stock = tf.getKernel(name, backendName);
  replacements.set(`${backendName}/${name}`, !!stock);
  if (!stock || (stock as unknown as Record<symbol, boolean>)[REPLACED]) return;
  const stockFunc = (args: KernelArgs) => stock.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  tf.unregisterKernel(name, backendName);
  tf.registerKernel({ ...stock, kernelFunc: (args: KernelArgs) => kernelFunc(args, stockFunc), [REPLACED]: true } as tf.KernelConfig);
}

const stockGradients = new Map<string, tf.GradConfig>();

/**
 * Makes `config` the gradient of its kernel, or, given a kernel's name, restores tfjs' own. For
 * the whole process: tfjs keeps one gradient per kernel.
 */
export function setGradient(config: tf.GradConfig | string): void {
  const name = typeof config === 'string' ? config : config.kernelName;
  if (!stockGradients.has(name)) stockGradients.set(name, tf.getGradient(name));
  tf.registerGradient(typeof config === 'string' ? stockGradients.get(name)! : config);
}

/** The gradient registered now for the kernel `name`. */
export function gradientOf(name: string): tf.GradConfig | undefined {
  return tf.getGradient(name);
}
