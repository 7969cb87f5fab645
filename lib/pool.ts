// Pool and ThreadPool: worker processes (or threads) that run an exported function on many inputs.
// Workers take tasks from one shared queue, as CPython's do, and each take also records, in the same
// step, which task that worker now holds (Queue's claim). So when a worker dies mid-task (CPython's
// pool hangs forever there, gh-66587) that task, and only it, fails with WorkerDiedError, and a new
// worker takes the dead one's place. The parent keeps the rest of a big input to itself, feeding
// the queue a few tasks per worker at a time, so an abort can still drop them.
import { Process } from './process.ts';
import { Thread } from './threading.ts';
import { Empty, PUT_SOME, Queue } from './queues.ts';
import { processEnded } from './platform/linux.ts';
import { Array as SharedArrayOf, type SharedArray } from './sharedctypes.ts';
import { cpuCount } from './context.ts';
import { errorData, rethrown, type RemoteErrorData } from './remote.ts';
import { ENDED, makeSpec, type Target } from './spawn.ts';
import { loadTarget } from './child.ts';
import { sendable } from './reduction.ts';
import { TimeoutError } from './waiting.ts';
import { checkNotImporting } from './identity.ts';
import { ownTargets } from './platform/files.ts';

/** A worker ended (killed, or crashed) while it ran this task. */
export class WorkerDiedError extends Error {
  override name = 'WorkerDiedError';
}

export interface PoolOptions {
  /** Runs once in each worker before its first task. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any exported function, called with initargs
  initializer?: ((...args: any[]) => unknown) | string;
  initargs?: unknown[];
  /** A worker ends after this many tasks and a fresh one replaces it. */
  maxtasksperchild?: number;
  /** The module that exports the task functions (default: the program's main module). */
  module?: string | URL;
}

export interface TaskOptions {
  /** Aborting drops the call's tasks that have not started; their promise rejects with the reason. */
  signal?: AbortSignal;
}

type Fn = { module: string; target: string };
// A task's inputs: argument lists (spread: starmap, apply), or single items (map), which then need
// no array each, in memory or on the wire; a chunk of plain numbers is a Float64Array (numbers()).
type Items = ArrayLike<unknown>;
type Job = [id: number, module: string, target: string, spread: boolean, inputs: Items];
type Done = [worker: number, id: number, ok: boolean, payload: unknown];

interface Task { id: number; fn: Fn; spread: boolean; inputs: Items; resolve(v: Items): void; reject(e: Error): void; dropped?: boolean }
interface Worker { index: number; runner: Process | Thread; settled: number; endSeen?: boolean }
// How long a worker the OS says has ended is given for its runtime to report the exit (#checkWorkers).
const EXIT_REPORT_MS = 1000;

// Tasks out (on the shared queue or running) per worker: the parent tops the queue up to HIGH once
// it falls to LOW, in one put, so the workers are woken once per batch and not once per task. A
// wake-up costs the waker 10-80 µs on a VM: with 8 and 4, 20,000 small tasks spent a third of the
// parent's time in them; 32 and 16 make a quarter as many (applyAsync ~20% faster everywhere).
const HIGH_PER_WORKER = 32, LOW_PER_WORKER = 16;

// So that an abort can still drop a task that is already on the shared queue, each task has a word
// in shared memory, its id's slot: whoever swaps it from 0 first decides. The worker writes -id
// (started: too late to drop), the parent writes id (dropped: the worker skips it and says so).
// Far fewer tasks are ever out than there are slots, so two never share one.
const SLOTS = 4096;

const slotOf = (id: number) => id & (SLOTS - 1);

// A map's chunks (a quarter of the items per worker) and their results are often some hundred KB:
// rings this big carry up to 256 KB in place, where the default would give each chunk a segment of
// its own (and a worker its first resource tracker): a map of 200,000 numbers is ~30% faster.
const RING_BYTES = 1 << 20;

// Workers that end before finishing any task, this many times in a row with none finishing one in
// between, cannot start (a module that does not load, an initializer that throws): CPython's pool
// replaces them for ever; this one stops and says so.
const FAILED_STARTS = 3;

// With tasks out and no result for this long (seconds), the pool checks that its workers live.
const CHECK_S = 1;

// A chunk, or its results, made of this many plain numbers or more travels as one Float64Array,
// whose bytes are copied once where msgpack would encode and decode every number: 8 chunks of
// 25,000 numbers take 7 ms there and back instead of 52 (Node 24, cold). Every number, -0 and NaN
// included, comes out as it went in.
const NUMBERS_MIN = 64;

/** items[from, to) as a Float64Array if they are all numbers (and enough of them), else null. */
function numbers(items: Items, from = 0, to = items.length): Float64Array | null {
  if (to - from < NUMBERS_MIN || typeof items[from] !== 'number') return null;
  const out = new Float64Array(to - from);
  for (let i = from; i < to; i++) {
    const v = items[i];
    if (typeof v !== 'number') return null;
    out[i - from] = v;
  }
  return out;
}

/** Copies a part of a map's results into `out` from `at` on. */
function copyPart(part: Items, out: unknown[], at: number): void {
  if (part instanceof Float64Array) copyNumbers(part, out, at);
  else copyItems(part, out, at);
}

// One loop per kind of part, so that each stays monomorphic (a cold map runs them in the interpreter).
function copyNumbers(part: Float64Array, out: unknown[], at: number) {
  for (let i = 0; i < part.length; i++) out[at + i] = part[i];
}

function copyItems(part: Items, out: unknown[], at: number) {
  for (let i = 0; i < part.length; i++) out[at + i] = part[i];
}

/**
 * Calls fn on inputs[from...] into results until one call returns a promise, whose index it returns
 * for the caller to await (a synchronous function is not made to wait a turn per item); else the
 * length. A loop of its own, outside the worker's async function: V8 optimizes a hot loop while it
 * runs (on-stack replacement), but not inside an async function on Node 20, where a chunk's calls
 * then ran 5-10 times slower.
 */
function callAll(fn: (...args: unknown[]) => unknown, spread: boolean, inputs: Items, results: unknown[], from: number): number {
  for (let i = from; i < inputs.length; i++) {
    const r = spread ? fn(...inputs[i] as unknown[]) : fn(inputs[i]);
    results[i] = r;
    if (r instanceof Promise) return i;
  }
  return inputs.length;
}

/** Calls fn on each of inputs into out while it returns numbers; where one does not, puts it in `odd` and returns its index. */
function callNumbers(fn: (x: number) => unknown, inputs: Float64Array, out: Float64Array, odd: { value: unknown }): number {
  for (let i = 0; i < inputs.length; i++) {
    const r = fn(inputs[i]);
    if (typeof r !== 'number') {
      odd.value = r;
      return i;
    }
    out[i] = r;
  }
  return inputs.length;
}

/**
 * A chunk's results. Numbers in and numbers out go straight into a Float64Array, the form they
 * travel in; anything else into an array made at its final size (a chunk's results outgrow V8's
 * young space, and each push that grew the array there would map fresh pages).
 */
async function runChunk(fn: (...args: unknown[]) => unknown, spread: boolean, inputs: Items): Promise<Items> {
  let results: unknown[], i: number;
  if (!spread && inputs instanceof Float64Array) {
    const out = new Float64Array(inputs.length), odd = { value: undefined as unknown };
    i = callNumbers(fn, inputs, out, odd);
    if (i === inputs.length) return out;
    results = new Array<unknown>(inputs.length);
    for (let k = 0; k < i; k++) results[k] = out[k];
    results[i] = odd.value;
    if (!(odd.value instanceof Promise)) i = callAll(fn, spread, inputs, results, i + 1);
  } else {
    results = new Array<unknown>(inputs.length);
    i = callAll(fn, spread, inputs, results, 0);
  }
  for (; i < inputs.length; i = callAll(fn, spread, inputs, results, i + 1)) results[i] = await results[i];
  return spread ? results : numbers(results) ?? results;
}

/** Why one of a task's results cannot be sent back, if one cannot: it fails its task rather than arrive changed. */
function refusal(results: Items, target: string): TypeError | null {
  for (let i = 0; i < results.length; i++) {
    try { sendable(results[i], `a result of ${target}()`); } catch (e) { return e as TypeError; }
  }
  return null;
}

/** The loop every worker runs: take a job from the shared queue, run it, report, repeat. */
export async function poolWorker(index: number, tasks: Queue<Job | null>, done: Queue<Done | -1>, held: SharedArray<'i'>, marks: SharedArray<'i'>, init: Fn | null, initargs: unknown[], maxTasks: number) {
  if (init) {
    const { fn } = await loadTarget({ module: init.module, target: init.target, args: '' });
    await fn(...initargs);
  }
  const loaded = new Map<string, (...args: unknown[]) => unknown>();
  const claim = { words: held.getObj(), index }, slots = marks.getObj();
  for (let finished = 1; maxTasks === 0 || finished <= maxTasks; finished++) {
    const job = await tasks.getAsync({ claim });
    if (job === null) break;
    const [id, module, target, spread, inputs] = job;
    const mark = Atomics.compareExchange(slots, slotOf(id), 0, -id);
    if (mark === id) { // dropped by an abort before it started
      Atomics.store(slots, slotOf(id), 0);
      await done.putAsync([index, id, false, null]);
      Atomics.store(claim.words, index, 0);
      finished--;
      continue;
    }
    let results: Items | null = null;
    try {
      let fn = loaded.get(`${module}#${target}`);
      if (!fn) {
        fn = (await loadTarget({ module, target, args: '' })).fn;
        loaded.set(`${module}#${target}`, fn);
      }
      results = await runChunk(fn, spread, inputs);
      await done.putAsync([index, id, true, results]);
    } catch (e) {
      await done.putAsync([index, id, false, errorData(results && e instanceof TypeError ? refusal(results, target) ?? e : e)]);
    }
    Atomics.compareExchange(slots, slotOf(id), -id, 0);
    Atomics.store(claim.words, index, 0);
  }
}

/** A result that will arrive: Python's AsyncResult, and a promise. */
/** CPython's callback and error_callback of the *Async methods: called with the result, or the error, before get() gives it. */
/**
 * imap's engine, for this pool and the cluster's: `submit`'s results for each chunk of `items`, in
 * order or as they come, with at most `inFlight` chunks out, pulling from the input only as results
 * are taken. An input that throws at item k (or holds one that cannot be sent) still yields the
 * results of the items before it, then the error, as CPython's imap does. `left`: called when the
 * caller stops early (a loop that breaks) with chunks still out.
 */
export async function* chunkStream<R>(
  items: Iterable<unknown> | AsyncIterable<unknown>,
  { chunksize, inFlight: most, ordered, check, submit, left }: {
    chunksize: number; inFlight: number; ordered: boolean; check(value: unknown, root: () => string): void;
    submit(chunk: unknown[]): Promise<ArrayLike<unknown>>; left?(): void;
  },
): AsyncGenerator<R> {
  if (!Number.isInteger(chunksize) || chunksize < 1) throw new RangeError(`chunksize is a whole number, at least 1, not ${chunksize}`);
  const source = (Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : (items as Iterable<unknown>)[Symbol.iterator]()) as AsyncIterator<unknown> | Iterator<unknown>;
  const inFlight: { promise: Promise<void>; value?: ArrayLike<unknown>; error?: unknown }[] = [];
  let exhausted = false, taken = 0;
  let failure: { error: unknown } | null = null;
  const fill = async () => {
    while (!exhausted && inFlight.length < most) {
      const chunk: unknown[] = [];
      while (chunk.length < chunksize) {
        try {
          const next = await source.next();
          if (next.done) { exhausted = true; break; }
          const n = taken++;
          check(next.value, () => `items[${n}]`);
          chunk.push(next.value);
        } catch (e) {
          failure = { error: e };
          exhausted = true;
          break;
        }
      }
      if (!chunk.length) break;
      const slot: (typeof inFlight)[number] = { promise: Promise.resolve() };
      slot.promise = submit(chunk).then((v) => { slot.value = v; }, (e) => { slot.error = e; });
      inFlight.push(slot);
    }
  };
  try {
    await fill();
    while (inFlight.length) {
      const at = ordered ? 0 : await Promise.race(inFlight.map((s, i) => s.promise.then(() => i)));
      await inFlight[at].promise;
      const [slot] = inFlight.splice(at, 1);
      if (slot.error) throw slot.error;
      const values = slot.value!;
      for (let i = 0; i < values.length; i++) yield values[i] as R;
      await fill();
    }
    if (failure) throw (failure as { error: unknown }).error;
  } finally {
    if (inFlight.length) left?.();
  }
}

export interface Callbacks<T> {
  callback?: (result: T) => void;
  errorCallback?: (error: unknown) => void;
}

/** Refuses callbacks that are not functions before any task is sent. */
function checkCallbacks({ callback, errorCallback }: Callbacks<never>) {
  if ((callback !== undefined && typeof callback !== 'function') || (errorCallback !== undefined && typeof errorCallback !== 'function')) {
    throw new TypeError('callback and errorCallback are functions, called in this process with the result or the error');
  }
}

function call<V>(hook: ((v: V) => void) | undefined, value: V, which: string) {
  if (hook === undefined) return;
  try { hook(value); } catch (e) { console.error(`Exception in a pool ${which}:`, e); } // the result stands
}

export class AsyncResult<T> implements PromiseLike<T> {
  readonly #promise: Promise<T>;
  #state: 'pending' | 'fulfilled' | 'rejected' = 'pending';

  constructor(promise: Promise<T>, { callback, errorCallback }: Callbacks<T> = {}) {
    this.#promise = promise.then(
      (v) => { this.#state = 'fulfilled'; call(callback, v, 'callback'); return v; },
      (e) => { this.#state = 'rejected'; call(errorCallback, e, 'errorCallback'); throw e; },
    );
    this.#promise.catch(() => {}); // a failure nobody asks for is not an unhandled rejection
  }

  ready(): boolean { return this.#state !== 'pending'; }
  successful(): boolean {
    if (!this.ready()) throw new Error('The result is not ready yet: await it, or wait() first');
    return this.#state === 'fulfilled';
  }

  /** The value; rejects with TimeoutError if it does not come within `timeout` seconds. */
  get(timeout: number | null = null): Promise<T> {
    if (timeout === null) return this.#promise;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new TimeoutError(`The result did not come within ${timeout} s`)), Math.max(0, timeout) * 1000); });
    return Promise.race([this.#promise, late]).finally(() => clearTimeout(timer));
  }

  async wait(timeout: number | null = null): Promise<void> {
    await this.get(timeout).catch(() => {});
  }

  then<A = T, B = never>(ok?: ((v: T) => A | PromiseLike<A>) | null, fail?: ((e: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.#promise.then(ok, fail);
  }
}

abstract class BasePool implements AsyncDisposable {
  readonly size: number;
  #options: PoolOptions;
  #tasks = new Queue<Job | null>(0, { capacity: RING_BYTES });
  #done = new Queue<Done | -1>(0, { capacity: RING_BYTES });
  #held: SharedArray<'i'>; // the task id each worker holds, 0 for none
  #marks = SharedArrayOf('i', SLOTS, { lock: false }); // see SLOTS
  #workers: (Worker | null)[] = [];
  #waiting: Task[] = []; // not yet on the shared queue: those from #first on
  #first = 0; // a moving start, as shift() on a long backlog costs its length each time
  #out = new Map<number, Task>(); // on the shared queue, or running
  #next = 1;
  #state: 'running' | 'closed' | 'terminated' = 'running';
  #drained: (() => void) | null = null;
  #listening: Promise<void> | null = null;
  #failedStarts = 0; // see FAILED_STARTS
  #broken: Error | null = null;

  constructor(processes: number = cpuCount(), options: PoolOptions = {}) {
    checkNotImporting('Pool');
    if (!Number.isInteger(processes) || processes < 1) throw new RangeError(`A pool needs at least 1 worker, not ${processes}`);
    if (options.maxtasksperchild !== undefined && (!Number.isInteger(options.maxtasksperchild) || options.maxtasksperchild < 1)) {
      throw new RangeError('maxtasksperchild is a whole number, at least 1');
    }
    this.size = processes;
    this.#options = options;
    this.#held = SharedArrayOf('i', processes, { lock: false });
    for (let i = 0; i < processes; i++) this.#start(i);
  }

  #busy(): boolean {
    return this.#waiting.length > this.#first || this.#out.size > 0;
  }

  protected abstract runner(options: { target: typeof poolWorker; args: Parameters<typeof poolWorker>; module: string }): Process | Thread;

  readonly #fns = new Map<Target<never[]>, Fn>(); // a task function's module and name, worked out once

  #fn(fn: Target<never[]>): Fn {
    let known = this.#fns.get(fn);
    if (!known) {
      const spec = makeSpec(fn as Target<unknown[]>, [], '', this.#options.module);
      this.#fns.set(fn, (known = { module: spec.module, target: spec.target }));
    }
    return known;
  }

  #start(index: number) {
    const init = this.#options.initializer ? this.#fn(this.#options.initializer as Target<never[]>) : null;
    const args: Parameters<typeof poolWorker> = [index, this.#tasks, this.#done, this.#held, this.#marks, init, this.#options.initargs ?? [], this.#options.maxtasksperchild ?? 0];
    const worker: Worker = { index, runner: this.runner({ target: poolWorker, args, module: ownTargets(import.meta.url) }), settled: 0 };
    this.#workers[index] = worker;
    worker.runner.start();
    worker.runner[ENDED]().then(() => this.#ended(worker)); // not join(): an idle pool's workers keep nothing alive
  }

  // A worker's process or thread ended. If it held a task (it died mid-task), that task fails;
  // a worker that retired after maxtasksperchild held none. Either way a fresh one takes its place.
  #ended(worker: Worker) {
    if (this.#workers[worker.index] !== worker) return;
    this.#workers[worker.index] = null;
    if (this.#state === 'terminated') return;
    const id = Atomics.exchange(this.#held.getObj(), worker.index, 0);
    const slots = this.#marks.getObj();
    if (id && Math.abs(Atomics.load(slots, slotOf(id))) === id) Atomics.store(slots, slotOf(id), 0);
    const task = this.#out.get(id);
    if (task) {
      this.#out.delete(id);
      const how = worker.runner instanceof Process ? `exit code ${worker.runner.exitCode}` : 'its thread ended';
      task.reject(new WorkerDiedError(`A pool worker died (${how}) while it ran this task; the pool replaced it and goes on`));
    }
    if (!task && worker.settled === 0 && (this.#state === 'running' || this.#busy()) && ++this.#failedStarts >= FAILED_STARTS) {
      return this.#break(worker);
    }
    if (this.#state === 'running' || this.#busy()) this.#start(worker.index);
    this.#feed();
  }

  // Workers cannot start: every task not finished fails with the reason, and so does every later
  // one; the workers still alive are stopped.
  #break(worker: Worker) {
    const how = worker.runner instanceof Process ? `exit code ${worker.runner.exitCode}` : 'its thread ended';
    this.#broken = new Error(`The pool's workers end before they finish any task (${FAILED_STARTS} in a row, the last with ${how}): their error is printed above; fix it (the tasks' module, the initializer) and make a new pool`);
    void this.#stop(this.#broken);
  }

  #ensureListening() {
    if (this.#listening) return;
    this.#listening = this.#listen().finally(() => {
      this.#listening = null;
      if (this.#busy() && this.#state !== 'terminated') this.#ensureListening();
    });
  }

  // Listens for results only while tasks are out: an idle pool keeps nothing waiting, so a program
  // that forgets to close it still ends (its workers are daemons). Results already waiting are
  // taken in the same turn, and the task queue is topped up once for all of them.
  async #listen() {
    while (this.#state !== 'terminated' && this.#busy()) {
      let message: Done | -1;
      try {
        message = await this.#done.getAsync({ timeout: CHECK_S });
      } catch (e) {
        if (!(e instanceof Empty)) throw e;
        this.#checkWorkers();
        continue;
      }
      for (;;) {
        if (message === -1) return; // the pool is stopping
        this.#settle(message);
        if (this.#done.qsize() === 0) break;
        message = this.#done.getNowait();
      }
      this.#feed();
    }
  }

  // A worker's end is normally seen through join(); a runtime that misses a child's exit (Bun has,
  // leaving it a zombie) would leave its task waiting for ever, so quiet spells ask the OS too. The
  // runtime is given a moment to report the exit first, for its exit code: on a loaded machine Deno's
  // came after the OS said the process had ended, and the pool's error said "exit code null".
  #checkWorkers() {
    for (const worker of this.#workers) {
      if (!worker || !(worker.runner instanceof Process) || !worker.runner.pid || worker.endSeen || !processEnded(worker.runner.pid)) continue;
      worker.endSeen = true;
      setTimeout(() => this.#ended(worker), EXIT_REPORT_MS);
    }
  }

  #settle([index, id, ok, payload]: Done) {
    const worker = this.#workers[index];
    if (worker) worker.settled++;
    this.#failedStarts = 0;
    const task = this.#out.get(id);
    if (!task) return;
    this.#out.delete(id);
    if (task.dropped) return; // its promise already rejected when it was dropped
    if (ok) task.resolve(payload as Items);
    else task.reject(rethrown(payload as RemoteErrorData, `pool worker ${index}`));
  }

  // Moves waiting tasks onto the shared queue, a batch at a time (see HIGH_PER_WORKER), as many as
  // its ring has room for: the parent never blocks here, so results are taken while workers catch up,
  // and the rest wait their turn until the next results come in.
  #feed() {
    if (this.#first < this.#waiting.length && this.#out.size <= this.size * LOW_PER_WORKER) {
      const jobs: Job[] = [], at: number[] = []; // the jobs, and where their tasks are in #waiting
      let end = this.#first;
      for (; end < this.#waiting.length && jobs.length + this.#out.size < this.size * HIGH_PER_WORKER; end++) {
        const task = this.#waiting[end];
        if (task.dropped) continue;
        jobs.push([task.id, task.fn.module, task.fn.target, task.spread, task.inputs]);
        at.push(end);
      }
      const put = jobs.length ? this.#tasks[PUT_SOME](jobs) : 0;
      for (let k = 0; k < put; k++) this.#out.set(jobs[k][0], this.#waiting[at[k]]);
      this.#first = put < jobs.length ? at[put] : end;
    }
    if (this.#first > 1024 && this.#first * 2 > this.#waiting.length) {
      this.#waiting.splice(0, this.#first);
      this.#first = 0;
    }
    if (this.#drained && !this.#busy()) this.#drained();
  }

  #submit(fn: Fn, spread: boolean, inputs: Items, signal?: AbortSignal): Promise<Items> {
    if (this.#broken) return Promise.reject(this.#broken);
    if (this.#state !== 'running') return Promise.reject(new Error(`Cannot add tasks to a pool that is ${this.#state}`));
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const task: Task = { id: this.#next++, fn, spread, inputs, resolve, reject };
      this.#waiting.push(task);
      this.#ensureListening();
      if (signal) {
        const abort = () => {
          if (task.dropped || this.#state === 'terminated') return;
          // On the shared queue: dropped only if no worker has started it (see SLOTS).
          if (this.#out.has(task.id) && Atomics.compareExchange(this.#marks.getObj(), slotOf(task.id), 0, task.id) !== 0) return;
          task.dropped = true;
          reject(signal.reason);
          this.#feed();
        };
        signal.addEventListener('abort', abort, { once: true });
        const settled = () => signal.removeEventListener('abort', abort);
        task.resolve = (v) => { settled(); resolve(v); };
        task.reject = (e) => { settled(); reject(e); };
      }
      this.#feed();
    });
  }

  #chunks(items: unknown[], spread: boolean, chunksize?: number): Items[] {
    const size = chunksize ?? Math.max(1, Math.ceil(items.length / (this.size * 4)));
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`chunksize is a whole number, at least 1, not ${chunksize}`);
    const out: Items[] = [];
    for (let i = 0; i < items.length; i += size) {
      const end = Math.min(i + size, items.length);
      out.push((!spread && numbers(items, i, end)) || items.slice(i, end));
    }
    return out;
  }

  /** fn(...args) in a worker; `args` may be left out only when fn needs none. */
  apply<R>(fn: () => R, args?: [], options?: TaskOptions): Promise<Awaited<R>>;
  apply<A extends unknown[], R>(fn: (...args: A) => R, args: A, options?: TaskOptions): Promise<Awaited<R>>;
  async apply<A extends unknown[], R>(fn: (...args: A) => R, args: A = [] as unknown as A, options: TaskOptions = {}): Promise<Awaited<R>> {
    sendable(args, 'args');
    const results = await this.#submit(this.#fn(fn as Target<never[]>), true, [args], options.signal);
    return results[0] as Awaited<R>;
  }

  applyAsync<R>(fn: () => R, args?: [], options?: TaskOptions & Callbacks<Awaited<R>>): AsyncResult<Awaited<R>>;
  applyAsync<A extends unknown[], R>(fn: (...args: A) => R, args: A, options?: TaskOptions & Callbacks<Awaited<R>>): AsyncResult<Awaited<R>>;
  applyAsync<A extends unknown[], R>(fn: (...args: A) => R, args: A = [] as unknown as A, options: TaskOptions & Callbacks<Awaited<R>> = {}): AsyncResult<Awaited<R>> {
    checkCallbacks(options);
    return new AsyncResult(this.apply(fn, args, options), options);
  }

  /** fn applied to every item, in chunks spread over the workers; resolves with the results in order. */
  starmap<A extends unknown[], R>(fn: (...args: A) => R, items: Iterable<A>, options: TaskOptions & { chunksize?: number } = {}): Promise<Awaited<R>[]> {
    return this.#map(fn as Target<never[]>, true, items, options) as Promise<Awaited<R>[]>;
  }

  map<T, R>(fn: (item: T) => R, items: Iterable<T>, options: TaskOptions & { chunksize?: number } = {}): Promise<Awaited<R>[]> {
    return this.#map(fn as Target<never[]>, false, items, options) as Promise<Awaited<R>[]>;
  }

  async #map(fn: Target<never[]>, spread: boolean, items: Iterable<unknown>, { chunksize, signal }: TaskOptions & { chunksize?: number }): Promise<unknown[]> {
    const target = this.#fn(fn), list = Array.isArray(items) ? items : [...items];
    sendable(list, 'items');
    // One array made at its final size (push, or concat, costs ~3x on a cold map), filled a part at
    // a time as each arrives, so only the last part's copy is left when the workers are done.
    const out = new Array<unknown>(list.length);
    let at = 0;
    await Promise.all(this.#chunks(list, spread, chunksize).map((chunk) => {
      const from = at;
      at += chunk.length;
      return this.#submit(target, spread, chunk, signal).then((part) => copyPart(part, out, from));
    }));
    return out;
  }

  mapAsync<T, R>(fn: (item: T) => R, items: Iterable<T>, options: TaskOptions & { chunksize?: number } & Callbacks<Awaited<R>[]> = {}): AsyncResult<Awaited<R>[]> {
    checkCallbacks(options);
    return new AsyncResult(this.map(fn, items, options), options);
  }

  starmapAsync<A extends unknown[], R>(fn: (...args: A) => R, items: Iterable<A>, options: TaskOptions & { chunksize?: number } & Callbacks<Awaited<R>[]> = {}): AsyncResult<Awaited<R>[]> {
    checkCallbacks(options);
    return new AsyncResult(this.starmap(fn, items, options), options);
  }

  // Pulls from the input only as results are taken, so a huge or endless input is never all in memory.
  async *#stream<T, R>(fn: (item: T) => R, items: Iterable<T> | AsyncIterable<T>, ordered: boolean, chunksize = 1, signal?: AbortSignal): AsyncGenerator<Awaited<R>> {
    const target = this.#fn(fn as Target<never[]>);
    yield* chunkStream<Awaited<R>>(items, { chunksize, inFlight: this.size * 2, ordered, check: sendable, submit: (chunk) => this.#submit(target, false, chunk, signal) });
  }

  imap<T, R>(fn: (item: T) => R, items: Iterable<T> | AsyncIterable<T>, { chunksize, signal }: TaskOptions & { chunksize?: number } = {}) {
    return this.#stream(fn, items, true, chunksize, signal);
  }

  imapUnordered<T, R>(fn: (item: T) => R, items: Iterable<T> | AsyncIterable<T>, { chunksize, signal }: TaskOptions & { chunksize?: number } = {}) {
    return this.#stream(fn, items, false, chunksize, signal);
  }

  /** No more tasks; those already given still run. */
  close(): void {
    if (this.#state === 'running') this.#state = 'closed';
  }

  /** After close(): waits for every task to finish and every worker to end. */
  async join(): Promise<void> {
    if (this.#state === 'running') throw new Error('Cannot join a pool that is still running: close() or terminate() it first');
    if (this.#state === 'closed') {
      await new Promise<void>((resolve) => { this.#drained = resolve; this.#feed(); });
      for (const w of this.#workers) if (w) this.#tasks.put(null);
      await Promise.all(this.#workers.map((w) => w?.runner.join()));
      this.#state = 'terminated';
    }
  }

  /** Stops at once: workers are killed, and every task not finished rejects. */
  terminate(): Promise<void> {
    return this.#stop(new Error('The pool was terminated before this task finished'));
  }

  async #stop(reason: Error): Promise<void> {
    if (this.#state === 'terminated') return;
    this.#state = 'terminated';
    this.#drained?.(); // a join() waiting for the tasks to finish: they will not
    const lost = [...this.#waiting.slice(this.#first).filter((t) => !t.dropped), ...this.#out.values()];
    this.#waiting = [];
    this.#first = 0;
    this.#out.clear();
    for (const task of lost) task.reject(reason);
    await Promise.all(this.#workers.map(async (w) => {
      if (!w) return;
      if (w.runner instanceof Process) w.runner.kill();
      else this.#tasks.put(null);
      await w.runner.join(5);
    }));
    if (this.#listening) {
      this.#done.put(-1); // wakes the listener, which sees the pool is stopping
      await this.#listening;
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.terminate();
  }
}

/** Worker processes: for CPU-bound work in parallel, each with its own pid. */
export class Pool extends BasePool {
  protected runner(options: { target: typeof poolWorker; args: Parameters<typeof poolWorker>; module: string }) {
    return new Process({ ...options, name: 'PoolWorker', daemon: true });
  }
}

/** Worker threads in this process: cheaper to start and to reach, sharing the pid. */
export class ThreadPool extends BasePool {
  protected runner(options: { target: typeof poolWorker; args: Parameters<typeof poolWorker>; module: string }) {
    return new Thread({ ...options, name: 'ThreadPoolWorker', daemon: true });
  }
}
