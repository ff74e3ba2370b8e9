/**
 * Every private part of TensorFlow.js 4.x that the project relies on, declared and touched in this
 * folder only: the engine's tape, custom-op dispatch and byte count (engine.ts), the kernel
 * registry's stock kernels (kernels.ts), the backends' tensor storage (backends.ts) and the
 * threaded wasm build (wasm-build.ts). tfjs promises none of it, so an upgrade may change any of
 * it silently: tests/tfjs-internals.test.ts checks PRIVATE_MEMBERS (canary.ts) against the
 * installed tfjs and names the project code that depends on each missing member.
 */
export { engine, recordingGradients, recordTape, runCustomOp, watchEngineBytes, type EngineInternals, type TapeNode } from './engine.js';
export { callKernel, defineKernel, gradientOf, hasKernel, replaceKernel, replacedKernels, setGradient, type KernelArgs, type KernelFunc } from './kernels.js';
export { cpuOutput, cpuValues, runWebGPUProgram, WasmBackend, wasmHeapBytes, type WasmFusedMatMul, type WebGPUProgram } from './backends.js';
export { pthreadWorkers, threadedBuild, wasmBackendOn, type ThreadedBuild, type ThreadedWasmModule } from './wasm-build.js';
export { checkPrivateMembers, PRIVATE_MEMBERS, type Holder, type PrivateMember } from './canary.js';
