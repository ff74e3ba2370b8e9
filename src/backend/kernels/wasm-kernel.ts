/**
 * How the wasm kernels here take over from tfjs-backend-wasm's own: each handles the cases it is
 * faster at and hands every other case to the stock kernel it replaced.
 */
import * as tf from '@tensorflow/tfjs';

export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

/** A replacement kernel; `stock` runs the kernel it replaced. */
export type WasmKernelFunc = (args: KernelArgs, stock: (args: KernelArgs) => tf.TensorInfo) => tf.TensorInfo;

const REPLACED = Symbol('finetune-lab kernel');

/** Replaces tfjs-backend-wasm's kernel `name` with `kernelFunc` (idempotent; nothing when wasm is not loaded). */
export function replaceWasmKernel(name: string, kernelFunc: WasmKernelFunc): void {
  const stock = tf.getKernel(name, 'wasm');
  if (!stock || (stock as unknown as Record<symbol, boolean>)[REPLACED]) return;
  const stockFunc = (args: KernelArgs) => stock.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...stock, kernelFunc: (args: KernelArgs) => kernelFunc(args, stockFunc), [REPLACED]: true } as tf.KernelConfig);
}
