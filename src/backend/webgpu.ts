/**
 * WebGPU in Node through Dawn (the `webgpu` npm package). Dawn is loaded once per process and
 * installed as `navigator.gpu`, which is where `@tensorflow/tfjs-backend-webgpu` looks for it
 * when it is first imported.
 */
import * as os from 'node:os';

/** The fields of `GPUAdapterInfo` that name the adapter. */
export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for CPU renderers (llvmpipe, lavapipe, SwiftShader): correct but slower than wasm. */
  software: boolean;
}

interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<{ info?: AdapterInfoLike } | null>;
}

const SOFTWARE_RENDERERS = /llvmpipe|lavapipe|swiftshader|software/i;

let dawn: Promise<AdapterDescription | undefined> | undefined;

/**
 * Loads Dawn, installs it as `navigator.gpu` and describes the adapter that tfjs will get
 * (`high-performance`, as the tfjs backend asks for). Undefined when Dawn finds no adapter.
 */
export function webgpuAdapter(): Promise<AdapterDescription | undefined> {
  dawn ??= loadDawn();
  return dawn;
}

async function loadDawn(): Promise<AdapterDescription | undefined> {
  // Some Mesa/Vulkan setups warn on every call without a runtime directory (none seen with Mesa 25 here).
  process.env.XDG_RUNTIME_DIR ||= os.tmpdir();
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create([]) as unknown as GpuLike;
  const existing = (globalThis as { navigator?: object }).navigator;
  // Node 21+ defines a read-only `navigator`; extend it rather than replace it.
  if (existing) Object.defineProperty(existing, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });

  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return undefined;
  const info: AdapterInfoLike = adapter.info ?? {};
  const names = [info.vendor, info.architecture, info.device, info.description].join(' ');
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    software: info.isFallbackAdapter === true || SOFTWARE_RENDERERS.test(names),
  };
}

/**
 * A one-line name for the adapter: Dawn's device name (lower-cased, e.g. "llvmpipe-llvm-15-0-6-256-bits-"),
 * the driver's description, then vendor and architecture.
 */
export function adapterName(a: AdapterDescription): string {
  const name = [a.device, a.description && `(${a.description})`].filter(Boolean).join(' ') || 'unnamed adapter';
  const tags = [a.vendor, a.architecture].filter(Boolean).join(', ');
  return tags ? `${name} [${tags}]` : name;
}
