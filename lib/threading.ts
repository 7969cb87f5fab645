// mpkit/threading, Python's threading: Thread runs an exported function on a worker thread of this
// process (same pid, its own globals: JavaScript threads share no heap), and the locks work for
// threads as they do for processes.
import type { Worker } from 'node:worker_threads';
import { ENDED, checkTarget, joinWithin, makeSpec, type ArgsOption, type Target } from './spawn.ts';
import { checkNotImporting, finishBeforeExit, ownName } from './identity.ts';
import { isMainThread } from './platform/runtime.ts';
import { childModule, workerEntry } from './platform/launch.ts';
import { builtin } from './platform/builtins.ts';
import { ownFile } from './platform/files.ts';

export { Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event, Barrier, BrokenBarrierError, TimeoutError } from './synchronize.ts';

export type ThreadOptions<A extends unknown[]> = ArgsOption<A> & {
  target: Target<A>;
  name?: string;
  daemon?: boolean;
  module?: string | URL;
};

let counter = 0;
const bootstrap = ownFile('bootstrap.ts');
// The threads this thread started that are still running, in the order they started.
const running = new Set<Thread>();
let waitedForAtExit = false;

// A child process waits for its non-daemon threads before it exits, as CPython's interpreter does
// at its end: the last thing its target started still finishes.
const nonDaemonsEnded = () => Promise.all([...running].filter((t) => !t.daemon).map((t) => t[ENDED]())).then(() => {});

export class Thread<A extends unknown[] = unknown[]> {
  name: string;
  #daemon: boolean;
  #options: ThreadOptions<unknown[]>; // A checks the constructor's arguments only, so any Thread is a Thread<unknown[]>
  #worker: Worker | null = null;
  #ended: Promise<void> | null = null;
  #alive = false;

  constructor(options: ThreadOptions<A>) {
    checkTarget('Thread', options);
    this.#options = options as ThreadOptions<unknown[]>;
    this.name = options.name ?? `Thread-${++counter}`;
    this.#daemon = options.daemon ?? false;
  }

  /** A daemon thread does not keep the program from ending; set it before start(), as in Python. */
  get daemon(): boolean { return this.#daemon; }
  set daemon(value: boolean) {
    if (this.#worker) throw new Error('Cannot set daemon on a thread that has started: set it before start()');
    this.#daemon = Boolean(value);
  }

  /** The thread's id in this process (worker_threads' threadId), once started. */
  get ident(): number | undefined {
    return this.#worker?.threadId;
  }

  start(): void {
    if (this.#worker) throw new Error('Cannot start a thread twice');
    checkNotImporting('Thread');
    const spec = makeSpec(this.#options.target as Target<unknown[]>, this.#options.args ?? [], this.name, this.#options.module);
    const chosen = childModule(spec.module, bootstrap);
    if (chosen.module !== spec.module) [spec.source, spec.module] = [spec.module, chosen.module];
    const entry = workerEntry(bootstrap, spec.module, chosen.typescript);
    const worker = new (builtin('node:worker_threads').Worker)(entry.file, { workerData: spec, eval: entry.eval, execArgv: entry.execArgv });
    this.#worker = worker;
    this.#alive = true;
    running.add(this);
    if (!waitedForAtExit) { waitedForAtExit = true; finishBeforeExit(nonDaemonsEnded); }
    if (this.daemon) worker.unref();
    this.#ended = new Promise((resolve) => {
      worker.once('exit', () => { this.#alive = false; running.delete(this); resolve(); });
      worker.once('error', (e) => { console.error(`Exception in thread ${this.name}:`, e); });
    });
  }

  async join(timeout?: number | null): Promise<void> {
    if (!this.#ended) throw new Error('Cannot join a thread that was not started');
    // A daemon does not keep the program alive, but someone waiting for it does.
    if (this.daemon) this.#worker!.ref();
    try { return await joinWithin(this.#ended, timeout); } finally { if (this.daemon) this.#worker!.unref(); }
  }

  isAlive(): boolean {
    return this.#alive;
  }

  [ENDED](): Promise<void> {
    if (!this.#ended) throw new Error('Cannot wait for a thread that was not started');
    return this.#ended;
  }
}

export interface ThreadInfo { name: string; ident: number }

export function currentThread(): ThreadInfo {
  const { threadId } = builtin('node:worker_threads');
  return { name: isMainThread() ? 'MainThread' : ownName(`Thread-${threadId}`), ident: threadId };
}

export function mainThread(): ThreadInfo {
  return { name: 'MainThread', ident: 0 };
}

/** How many threads are alive: this one and those it started that still run (Python's active_count). */
export function activeCount(): number {
  return running.size + 1;
}

/** The threads this one started that are still alive (Python's enumerate, less the calling thread itself: currentThread()). */
export function enumerate(): Thread[] {
  return [...running];
}
