/**
 * WebGPU in Node through Dawn (the `webgpu` npm package). Dawn is loaded once per process and
 * installed as `navigator.gpu`, which is where `@tensorflow/tfjs-backend-webgpu` looks for it
 * when it is first imported.
 */
import * as os from 'node:os';
import { captureNativeStderr } from './native-stderr.js';

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

/** What Dawn found: the adapter tfjs will get, or none and Dawn's own warnings that say why. */
export interface DawnProbe {
  adapter?: AdapterDescription;
  /** Dawn's warnings while it looked for adapters, e.g. "Couldn't load Vulkan: libvulkan.so.1: ...". */
  warnings: string[];
}

let dawn: Promise<DawnProbe> | undefined;

/**
 * Loads Dawn, installs it as `navigator.gpu` and describes the adapter that tfjs will get
 * (`high-performance`, as the tfjs backend asks for).
 */
export function webgpuAdapter(): Promise<DawnProbe> {
  dawn ??= loadDawn();
  return dawn;
}

async function loadDawn(): Promise<DawnProbe> {
  // Some Mesa/Vulkan setups warn on every call without a runtime directory (none seen with Mesa 25 here).
  process.env.XDG_RUNTIME_DIR ||= os.tmpdir();
  // Dawn prints its warnings natively while it looks for adapters (on llvmpipe: two "limit
  // artificially reduced" lines in every process); the probe reports what matters of them instead.
  const { value: adapter, text } = await captureNativeStderr(async () => {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    const gpu = create([]) as unknown as GpuLike;
    const existing = (globalThis as { navigator?: object }).navigator;
    // Node 21+ defines a read-only `navigator`; extend it rather than replace it.
    if (existing) Object.defineProperty(existing, 'gpu', { value: gpu, configurable: true });
    else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    return gpu.requestAdapter({ powerPreference: 'high-performance' });
  });
  const { warnings, other } = splitDawnLog(text);
  if (other) process.stderr.write(other);
  if (!adapter) return { warnings };
  const info: AdapterInfoLike = adapter.info ?? {};
  const names = [info.vendor, info.architecture, info.device, info.description].join(' ');
  return {
    adapter: {
      vendor: info.vendor ?? '',
      architecture: info.architecture ?? '',
      device: info.device ?? '',
      description: info.description ?? '',
      software: info.isFallbackAdapter === true || SOFTWARE_RENDERERS.test(names),
    },
    warnings,
  };
}

/**
 * Dawn's warnings ("Warning: message", then indented source locations) from captured standard
 * error, and everything else, which is passed on as it was written.
 */
export function splitDawnLog(text: string): { warnings: string[]; other: string } {
  const warnings: string[] = [];
  let other = '';
  let inWarning = false;
  for (const line of text.split(/(?<=\n)/)) {
    if (line.startsWith('Warning: ')) {
      warnings.push(line.slice('Warning: '.length).trimEnd());
      inWarning = true;
    } else if (!(inWarning && /^\s/.test(line))) {
      other += line;
      inWarning = false;
    }
  }
  return { warnings, other };
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
