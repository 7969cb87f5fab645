// mpkit/threading, Python's threading: Thread runs an exported function on a worker thread of this
// process (same pid, its own globals: JavaScript threads share no heap), and the locks work for
// threads as they do for processes.
import type { Worker } from 'node:worker_threads';
import { ENDED, checkStartMethod, checkTarget, joinWithin, makeSpec, nonDaemonsEnded, startMethodOr, type StartMethod, type ArgsOption, type Target } from './spawn.ts';
import { checkNotImporting, finishBeforeExit, ownName, ownParent } from './identity.ts';
import { isMainThread } from './platform/runtime.ts';
import { childModule, workerEntry } from './platform/launch.ts';
import { bundleMade } from './platform/ts_bundle.ts';
import { builtin } from './platform/builtins.ts';
import { ownFile, ownTargets } from './platform/files.ts';
import { Event } from './synchronize.ts';
import { moduleURL } from './spawn.ts';
import { THREAD_ERROR } from './child.ts';
import { prepareThreads, takeThread } from './warm.ts';
import { programModule } from './platform/runtime.ts';

export { Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event, Barrier, BrokenBarrierError, TimeoutError } from './synchronize.ts';

export type ThreadOptions<A extends unknown[]> = ArgsOption<A> & {
  target: Target<A>;
  name?: string;
  daemon?: boolean;
  module?: string | URL;
  /** 'spawn' or 'warm' (a spare Worker booted ahead takes the target); by default the program's, see setStartMethod(). */
  startMethod?: StartMethod;
};

let counter = 0;
const bootstrap = ownFile('bootstrap.ts');
// The threads this thread started that are still running, in the order they started.
const running = new Set<Thread>();
// A child process waits for its non-daemon threads before it exits, as CPython's interpreter does
// at its end: the last thing its target started still finishes.
let waitedForAtExit = false;

export class Thread<A extends unknown[] = unknown[]> {
  name: string;
  #daemon: boolean;
  #options: ThreadOptions<unknown[]>; // A checks the constructor's arguments only, so any Thread is a Thread<unknown[]>
  #worker: Worker | null = null;
  #ended: Promise<void> | null = null;
  #alive = false;

  constructor(options: ThreadOptions<A>) {
    checkTarget('Thread', options);
    if (options.startMethod !== undefined) checkStartMethod(options.startMethod);
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
    const spec = { ...makeSpec(this.#options.target as Target<unknown[]>, this.#options.args ?? [], this.name, this.#options.module), parentPid: ownParent() };
    const chosen = childModule(spec.module, bootstrap);
    if (chosen.module !== spec.module) [spec.source, spec.module] = [spec.module, chosen.module];
    const entry = workerEntry(bootstrap, spec.module, chosen.typescript);
    const options = { eval: entry.eval, execArgv: entry.execArgv };
    const spare = startMethodOr(this.#options.startMethod) === 'warm' ? takeThread(entry.file, options, spec) : null;
    const worker = spare ?? new (builtin('node:worker_threads').Worker)(entry.file, { ...options, workerData: spec });
    this.#worker = worker;
    this.#alive = true;
    running.add(this);
    if (!waitedForAtExit) { waitedForAtExit = true; finishBeforeExit(() => nonDaemonsEnded(running)); }
    this.#ended = new Promise((resolve) => {
      worker.once('exit', () => { this.#alive = false; running.delete(this); resolve(); });
      worker.on('message', (m: Record<string, unknown>) => { if (m && THREAD_ERROR in m) callExcepthook(m[THREAD_ERROR], this); });
      worker.once('error', (e) => callExcepthook(e, this)); // what the target's own catch did not see (a module that fails to load)
    });
    if (this.daemon) worker.unref(); // after the listeners: on Bun, listening for messages refs the worker
    else if (spare) worker.ref(); // an idle spare was not
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

/** What threading's excepthook is given: the error a thread's target threw, and the thread. */
export interface ExceptHookArgs { excType: string; excValue: unknown; thread: Thread }
export type ExceptHook = (args: ExceptHookArgs) => void;

/** The default hook (Python's threading.__excepthook__): prints the thread's name and the error's stack to stderr. */
export function excepthook({ excValue, thread }: ExceptHookArgs): void {
  console.error(`Exception in thread ${thread.name}:`, excValue);
}

let hook: ExceptHook = excepthook;

/**
 * Replaces the hook that handles an exception a thread's target throws (Python's assignment to
 * threading.excepthook), and returns the one it replaces; null restores the default. The hook runs
 * in the thread that started the failing one: JavaScript threads share no functions.
 */
export function setExcepthook(next: ExceptHook | null): ExceptHook {
  if (next !== null && typeof next !== 'function') throw new TypeError('An excepthook is a function of { excType, excValue, thread }, or null for the default');
  const previous = hook;
  hook = next ?? excepthook;
  return previous;
}

function callExcepthook(error: unknown, thread: Thread) {
  const excType = error instanceof Error ? error.name : typeof error;
  try {
    hook({ excType, excValue: error, thread });
  } catch (e) { // as Python's does when the hook itself raises: the hook's own error is printed
    console.error(`Exception in threading.excepthook, for thread ${thread.name}:`, e);
  }
}

/** Boots the spare threads (warm.ts) that a start() of a target in the program's module would take. */
export async function warmUpThreads(): Promise<void> {
  const module = programModule();
  childModule(module, bootstrap);
  await bundleMade(module); // as warmUpProcesses does
  const chosen = childModule(module, bootstrap);
  const entry = workerEntry(bootstrap, chosen.module, chosen.typescript);
  prepareThreads(entry.file, { eval: entry.eval, execArgv: entry.execArgv });
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

export type TimerOptions<A extends unknown[]> = ArgsOption<A> & { name?: string; daemon?: boolean; module?: string | URL };

/**
 * Python's threading.Timer: a thread that calls `target` after `interval` seconds, unless cancel()
 * comes first. As with Thread, the target is a named function exported by its module.
 */
export class Timer<A extends unknown[] = unknown[]> extends Thread<[number, Event, string, string, unknown[]]> {
  readonly #cancelled: Event;

  constructor(interval: number, target: Target<A>, options: TimerOptions<A> = {} as TimerOptions<A>) {
    if (typeof interval !== 'number' || Number.isNaN(interval)) throw new TypeError(`A Timer's interval is a number of seconds, not ${String(interval)}`);
    checkTarget('Timer', { target, ...options } as ThreadOptions<A>);
    const name = typeof target === 'string' ? target : target.name;
    const cancelled = new Event();
    const at = moduleURL(options.module ?? programModule());
    super({ target: 'timerThread', module: ownTargets(import.meta.url), args: [interval, cancelled, at, name, options.args ?? []], name: options.name, daemon: options.daemon });
    this.#cancelled = cancelled;
  }

  /** Stops the timer if it has not fired yet. */
  cancel(): void {
    this.#cancelled.set();
  }
}

/** What a Timer's thread runs (exported so that thread can find it): wait, then call, unless cancelled. */
export async function timerThread(interval: number, cancelled: Event, module: string, target: string, args: unknown[]) {
  if (await cancelled.waitAsync(interval)) return;
  const fn = (await import(module) as Record<string, unknown>)[target];
  if (typeof fn !== 'function') throw new TypeError(`Target "${target}" is not exported from ${module}: export it so the timer's thread can import it`);
  await fn(...args);
}

/**
 * Python's threading.local. In JavaScript every thread has its own module globals already, so any
 * object made at a module's top level is local to the thread that evaluates it; this class gives
 * code ported from Python the name it expects.
 */
export class local {
  [name: string]: unknown;
}
