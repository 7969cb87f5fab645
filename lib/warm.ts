// The warm start method: CPython's forkserver answer to slow starts, for runtimes that cannot fork.
// A spare child (a process, or a worker thread) is booted ahead of need with mpkit's bootstrap and
// waits; start() hands it the spec a spawned child would have read, and it becomes that child: its
// own pid, fresh globals (a spare runs one target, never two), the caller's environment and working
// directory as they are at start(). Only the runtime's boot moves off the caller's critical path.
// Only a spare that has booted and waits is taken: one still booting would start the child no
// sooner than a spawn, at the cost of loading mpkit first. The next spare boots after the start,
// once the starting turn of the event loop is over, so a burst of starts does not boot one each.
import type { ChildProcess } from 'node:child_process';
import type { Worker } from 'node:worker_threads';
import { builtin } from './platform/builtins.ts';
import { Queue } from './queues.ts';
import { Event } from './synchronize.ts';
import { dumps } from './reduction.ts';
import { runtime } from './platform/runtime.ts';
import type { SpawnSpec } from './spawn.ts';

/** What a spare is told when it is taken; `env` and `cwd` only for a process. */
export interface Handed { spec: SpawnSpec; env?: Record<string, string>; cwd?: string }

/** What a spare process is booted with: the queue its spec comes through, the event it sets once it waits there, and its parent's pid. */
export interface SpareBoot { queue: Queue<Handed>; ready: Event; parent: number }

/**
 * A spare thread loads nothing of mpkit's while idle: it says it waits by a message and is handed
 * its spec by one, so it waits in its event loop, where the program's exit ends it at once (a wait
 * in the kernel would hold the exit up, and a Worker ended while it loads koffi aborted Node 24).
 */
export const THREAD_SPARE_READY = 'mpkit.spareReady';

interface Spare<C> { child: C; key: string; ended: boolean; ready(): boolean; queue?: Queue<Handed> }

const limits = { processes: 1, threads: 1 };
// Deno reports the end of a Worker that was unref'd (as an idle spare must be, or it would keep the
// program alive) and ref'd again some 60 ms late, measured: more than a spare saves. There threads
// are spawned.
const threadSpares = runtime !== 'deno';
const idleProcesses: Spare<ChildProcess>[] = [];
const idleThreads: Spare<Worker>[] = [];
let hooked = false;

/** How many idle spares to keep: 0 keeps none (every start spawns). */
export function setSpares(counts: { processes?: number; threads?: number }) {
  for (const kind of ['processes', 'threads'] as const) {
    const n = counts[kind];
    if (n === undefined) continue;
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`spares.${kind} is a whole number, at least 0, not ${n}`);
    limits[kind] = n;
    const idle = kind === 'processes' ? idleProcesses : idleThreads;
    for (const spare of idle.splice(n)) end(spare);
  }
}

function end(spare: Spare<ChildProcess | Worker>) {
  if ('kill' in spare.child) spare.child.kill('SIGKILL');
  else void spare.child.terminate();
}

// Spares end with the program. A process spare also asks the kernel to end it with its parent
// (child.ts), which covers a parent killed outright; this covers a kernel that refused.
function endSparesAtExit() {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => { for (const spare of [...idleProcesses, ...idleThreads]) end(spare); });
}

const pending = new Map<'processes' | 'threads', () => void>();

/** Runs `boot` after this turn of the event loop; of several asked for in one turn for one kind, the last. */
function later(kind: 'processes' | 'threads', boot: () => void) {
  if (!pending.has(kind)) setTimeout(() => { const run = pending.get(kind); pending.delete(kind); run?.(); }, 0);
  pending.set(kind, boot);
}

// The way of starting used last wins: spares booted for another are ended, not kept beside.
function endStale(idle: Spare<ChildProcess | Worker>[], key: string) {
  for (let i = idle.length - 1; i >= 0; i--) if (idle[i].key !== key) end(idle.splice(i, 1)[0]);
}


/**
 * What a spare must have been booted with to take a start: the command, the environment variables
 * that change how a runtime (or mpkit: MPKIT_FFI) boots, and the working directory, where runtimes look for their
 * configuration (deno.json, bunfig.toml) and resolve relative flags. The rest of the environment a
 * spare takes over at start().
 */
function bootKey(bin: string, args: string[], env: Record<string, string | undefined>): string {
  const boots = Object.entries(env).filter(([k]) => /^(NODE_|DENO_|BUN_|UV_|LD_|MALLOC_|MPKIT_FFI$)/.test(k)).sort();
  return JSON.stringify([bin, args, boots, process.cwd()]);
}

/**
 * Hands `spec` to an idle spare process booted with this command and environment, and returns it;
 * null if there is none, after which the caller spawns. Either way a spare for this command boots.
 */
export function takeProcess(bin: string, args: string[], env: Record<string, string | undefined>, spec: SpawnSpec): ChildProcess | null {
  const key = bootKey(bin, args, env);
  const at = idleProcesses.findIndex((s) => s.key === key && !s.ended && s.ready());
  const spare = at >= 0 ? idleProcesses.splice(at, 1)[0] : null;
  if (spare) {
    spare.queue!.put({ spec, env: env as Record<string, string>, cwd: process.cwd() });
    spare.child.removeAllListeners('exit');
  }
  later('processes', () => prepareProcesses(bin, args, env));
  return spare?.child ?? null;
}

/** Boots spare processes for this command until as many as the limit are idle. */
export function prepareProcesses(bin: string, args: string[], env: Record<string, string | undefined>) {
  const key = bootKey(bin, args, env);
  endStale(idleProcesses, key);
  while (idleProcesses.length < limits.processes) bootProcess(bin, args, env, key);
}

function bootProcess(bin: string, args: string[], env: Record<string, string | undefined>, key: string) {
  const boot: SpareBoot = { queue: new Queue<Handed>(0, { capacity: 64 * 1024 }), ready: new Event(), parent: process.pid }; // one spec; a bigger one goes in a segment of its own
  const encoded = Buffer.from(dumps(boot, 'spare')).toString('base64');
  const child = builtin('node:child_process').spawn(bin, args, { stdio: 'inherit', env: { ...env, MPKIT_SPARE: encoded } });
  child.unref(); // an idle spare keeps nothing alive
  const spare: Spare<ChildProcess> = { child, key, ended: false, ready: () => boot.ready.isSet(), queue: boot.queue };
  child.once('exit', () => { spare.ended = true; const i = idleProcesses.indexOf(spare); if (i >= 0) idleProcesses.splice(i, 1); });
  idleProcesses.push(spare);
  endSparesAtExit();
}

/** As takeProcess, for a worker thread that would be started from `file` with these options. */
export function takeThread(file: URL | string, options: { eval: boolean; execArgv?: string[] }, spec: SpawnSpec): Worker | null {
  const key = JSON.stringify([String(file), options]);
  const at = idleThreads.findIndex((s) => s.key === key && !s.ended && s.ready());
  const spare = at >= 0 ? idleThreads.splice(at, 1)[0] : null;
  if (spare) {
    spare.child.postMessage({ spec } satisfies Handed);
    spare.child.removeAllListeners('exit');
  }
  later('threads', () => prepareThreads(file, options));
  return spare?.child ?? null;
}

/** Boots spare threads started from `file` until as many as the limit are idle. */
export function prepareThreads(file: URL | string, options: { eval: boolean; execArgv?: string[] }) {
  if (!threadSpares) return;
  const key = JSON.stringify([String(file), options]);
  endStale(idleThreads, key);
  while (idleThreads.length < limits.threads) bootThread(file, options, key);
}

function bootThread(file: URL | string, options: { eval: boolean; execArgv?: string[] }, key: string) {
  const worker = new (builtin('node:worker_threads').Worker)(file, { ...options, workerData: { spare: true } });
  let waiting = false;
  worker.once('message', (m: Record<string, unknown>) => { if (m?.[THREAD_SPARE_READY]) waiting = true; });
  worker.unref(); // after the listener: on Bun, listening for messages refs the worker
  const spare: Spare<Worker> = { child: worker, key, ended: false, ready: () => waiting };
  worker.once('exit', () => { spare.ended = true; const i = idleThreads.indexOf(spare); if (i >= 0) idleThreads.splice(i, 1); });
  idleThreads.push(spare);
  endSparesAtExit();
}

const READY_POLL_MS = 5;

/** Resolves once every idle spare has booted and waits, or after `timeout` seconds; false if one had not (or ended instead). */
export async function sparesReady(timeout = 30): Promise<boolean> {
  const end = performance.now() + timeout * 1000;
  const waits = async (s: Spare<unknown>) => { // looked at every few ms, to see one that ends while booting
    while (!s.ended && !s.ready() && performance.now() < end) await new Promise((r) => setTimeout(r, READY_POLL_MS));
    return s.ready() && !s.ended;
  };
  return (await Promise.all([...idleProcesses, ...idleThreads].map(waits))).every(Boolean);
}

/** The idle spares: the pids of the processes, and how many threads. */
export function idleSpares(): { processes: number[]; threads: number } {
  return { processes: idleProcesses.filter((s) => !s.ended).map((s) => s.child.pid!), threads: idleThreads.filter((s) => !s.ended).length };
}
