// mpkit: Python's multiprocessing for TypeScript. This file only re-exports.
export { cpuCount, isMain } from './context.ts';
export { Process, activeChildren, currentProcess, parentProcess, type ProcessOptions, type ProcessInfo } from './process.ts';
export { Lock, TimeoutError, type AcquireOptions } from './synchronize.ts';
export { Value, RawValue, Array, RawArray, SharedValue, SharedArray, type Typecode, type Item } from './sharedctypes.ts';
