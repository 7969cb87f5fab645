// The package's process-wide facts: how many CPUs, the guard that keeps a module's top-level code
// from running again when a child imports it (Python's `if __name__ == "__main__":`), and the start
// method: 'spawn' boots a new runtime for each child, 'warm' hands it to a spare (warm.ts).
import { isMain as isEntry, isMainThread } from './platform/runtime.ts';
import { builtin } from './platform/builtins.ts';
import { START_METHODS, checkStartMethod, chooseStartMethod, chosenStartMethod, startMethodOr, type StartMethod } from './spawn.ts';
import { Process, warmUpProcesses, type ProcessOptions, type RunOptions } from './process.ts';
import { Thread, warmUpThreads, type ThreadOptions } from './threading.ts';
import { idleSpares, setSpares, sparesReady } from './warm.ts';

export type { StartMethod };

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

export interface StartMethodOptions {
  /** Change a start method that was already set (Python's force=True). */
  force?: boolean;
  /** How many idle spares the warm method keeps: 1 process and 1 thread by default; 0 keeps none. */
  spares?: { processes?: number; threads?: number };
}

/** Sets how this program starts its processes and threads; once only, unless `force` (as Python's set_start_method). */
export function setStartMethod(method: StartMethod | null, { force = false, spares }: StartMethodOptions = {}): void {
  chooseStartMethod(method, force);
  if (spares) setSpares(spares);
}

/** The start method in use; with `allowNone`, null if none was set (as Python's get_start_method). */
export function getStartMethod(allowNone = false): StartMethod | null {
  return allowNone ? chosenStartMethod() : startMethodOr(undefined);
}

export function getAllStartMethods(): StartMethod[] {
  return [...START_METHODS];
}

/** Python's context object: Process and Thread that start with one method, whatever the program's is. */
export interface Context {
  readonly startMethod: StartMethod;
  readonly Process: typeof Process;
  readonly Thread: typeof Thread;
  /**
   * Boots the idle spares a start() would take now (the warm method boots them at its first start
   * otherwise), and resolves once they wait: true, or false if they did not within `timeout` seconds.
   */
  warmUp(timeout?: number): Promise<boolean>;
  /** The spares idle now, whichever context booted them: the pids of the processes, and how many threads. */
  idle(): { processes: number[]; threads: number };
}

const contexts = new Map<StartMethod, Context>();

/** The context of `method` (by default the program's). */
export function getContext(method?: StartMethod): Context {
  if (method !== undefined) checkStartMethod(method);
  const startMethod = startMethodOr(method);
  const known = contexts.get(startMethod);
  if (known) return known;
  class ContextProcess<A extends unknown[] = unknown[]> extends Process<A> {
    constructor(options?: ProcessOptions<A> | RunOptions) {
      super({ startMethod, ...options } as ProcessOptions<A>);
    }
  }
  class ContextThread<A extends unknown[] = unknown[]> extends Thread<A> {
    constructor(options: ThreadOptions<A>) {
      super({ startMethod, ...options });
    }
  }
  const context: Context = {
    startMethod,
    Process: ContextProcess as typeof Process,
    Thread: ContextThread as typeof Thread,
    async warmUp(timeout = 30) {
      if (startMethod !== 'warm') return true;
      await Promise.all([warmUpProcesses(), warmUpThreads()]);
      return sparesReady(timeout);
    },
    idle: idleSpares,
  };
  contexts.set(startMethod, context);
  return context;
}
