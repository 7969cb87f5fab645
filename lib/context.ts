// The package's process-wide facts: how many CPUs, and the guard that keeps a module's top-level
// code from running again when a child imports it (Python's `if __name__ == "__main__":`).
import { isMain as isEntry, isMainThread } from './platform/runtime.ts';
import { builtin } from './platform/builtins.ts';

export function cpuCount(): number {
  return builtin('node:os').availableParallelism();
}

/**
 * True only in the program's entry module, on its main thread. A child process or thread imports
 * that module to find its target; without this guard it would run the program again.
 */
export function isMain(meta: { url: string; main?: boolean }): boolean {
  return isMainThread() && isEntry(meta);
}
