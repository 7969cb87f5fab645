// mpkit's figures for `npm run bench`, on whichever runtime runs this file, measured as
// scripts/bench/reference.py measures CPython's. Each figure has, where one exists, its floor: the
// same work with nothing of mpkit's in the way (a bare compare-and-swap, a bare runtime start, a
// bare Worker). Prints one JSON object; `scripts/bench.ts` runs it on every runtime.
//
//   <runtime> scripts/bench/figures.ts [--quick] [--repeats N] [--only name,name]
import * as mp from 'mpkit';
import { Thread } from 'mpkit/threading';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { CLUSTER_FIGURES, stopRedis } from './cluster_figures.ts';

const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
const runtime = g.Bun ? 'bun' : g.Deno ? 'deno' : 'node';
const version = g.Bun ? g.Bun.version : g.Deno ? g.Deno.version.deno : process.versions.node;
const now = () => performance.timeOrigin + performance.now(); // comparable across processes

// --- what children run -------------------------------------------------------------------------

const nothing = { target: 'nothing', module: new URL('./nothing.ts', import.meta.url) };
// The same, in a module that imports mpkit, as most targets' modules do: the child then loads it all.
const nothingWithMpkit = { target: 'nothing', module: new URL('./nothing_mpkit.ts', import.meta.url) };
/** A child whose first libc calls map a shared Value: its start pays for loading the FFI that makes them. */
const setsValue = () => new spawned.Process({ target: 'setValue', args: [mp.Value('i', 0)], module: nothingWithMpkit.module });

export function lockLoop(lock: mp.Lock, n: number, out: mp.SharedValue<'d'>) {
  // Once untimed first: the figure is the steady cost, as for a thread, whose earlier repeats ran
  // in the same process. A fresh child's first loop is mostly the JIT compiling it.
  timeLock(lock, n);
  out.value = timeLock(lock, n);
}

export function increment(value: mp.SharedValue<'i'>, n: number, ready: mp.Semaphore, go: mp.Event, ends: mp.SharedArray<'d'>, i: number) {
  ready.release();
  go.wait();
  const lock = value.getLock();
  for (let k = 0; k < n; k++) {
    lock.acquire();
    value.value += 1;
    lock.release();
  }
  ends[i] = now();
}

export function rawIncrement(cell: mp.SharedArray<'i'>, n: number, ready: mp.Semaphore, go: mp.Event, ends: mp.SharedArray<'d'>, i: number) {
  ready.release();
  go.wait();
  const words = cell.getObj();
  for (let k = 0; k < n; k++) Atomics.add(words, 0, 1);
  ends[i] = now();
}

// A child's loop runs cold at first (interpreted, then compiled after some thousands of turns), so
// children that time a loop run a fixed number of turns untimed first: the same in a quick run as
// in a full one, which otherwise disagreed 3 to 1 (npm run bench:agree).
const CHILD_WARM_UP = 10_000;

export async function appendAll(list: mp.ListProxy<number>, n: number, inFlight: number, ready: mp.Semaphore, go: mp.Event, ends: mp.SharedArray<'d'>) {
  for (let i = 0; i < CHILD_WARM_UP; i++) await list.append(-1); // connected, warm, and the first request paid for
  ready.release();
  await go.waitAsync(60);
  // The clock starts here, in the child: the wake-up from go (an async wait, polled) took up to
  // some 50 ms, which a quick run's fewer appends could not hide.
  ends[0] = now();
  if (inFlight <= 1) {
    for (let i = 0; i < n; i++) await list.append(i);
  } else {
    // Pipelined: many appends on the wire at once, each still a request of its own.
    for (let i = 0; i < n; i += inFlight) {
      await Promise.all(Array.from({ length: Math.min(inFlight, n - i) }, (_, k) => list.append(i + k)));
    }
  }
  ends[1] = now();
}

/** One of many clients of one manager: appends in turn, timing each call; sends its end time, then the times. */
export async function timedAppends(list: mp.ListProxy<number>, n: number, ready: mp.Semaphore, go: mp.Event, out: mp.Queue<number[]>) {
  await list.append(-1); // connected, and the first request paid for
  ready.release();
  await go.waitAsync(60);
  const times = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await list.append(i);
    times[i] = (performance.now() - t0) * 1000;
  }
  out.put([now(), ...times]);
}

/** Appends until told to stop; sends the longest any one call took, in ms. */
export async function appendUntil(list: mp.ListProxy<number>, ready: mp.Semaphore, stop: mp.Event, out: mp.Queue<number>) {
  await list.append(-1);
  ready.release();
  let longest = 0;
  while (!stop.isSet()) {
    const t0 = performance.now();
    await list.append(0);
    longest = Math.max(longest, performance.now() - t0);
  }
  out.put(longest);
}

export function drain(queue: mp.Queue<number>, n: number, ready: mp.Semaphore, ends: mp.SharedArray<'d'>) {
  for (let i = 0; i < CHILD_WARM_UP; i++) queue.get(); // what the parent put before it waited for ready
  ready.release();
  for (let i = 0; i < n; i++) queue.get();
  ends[0] = now();
}

export function identity<T>(x: T): T {
  return x;
}

export function peakAndPid(): [number, number] {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20); // long enough for both workers to take one
  return [process.pid, status('VmHWM')];
}

export function ownPeak(out: mp.SharedValue<'d'>) {
  out.value = status('VmHWM');
}

// --- helpers -----------------------------------------------------------------------------------

/** A field of /proc/self/status, in MB. */
function status(field: 'VmHWM' | 'VmRSS'): number {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return Number(line?.split(/\s+/)[1] ?? NaN) / 1024;
}

/** VmHWM of another process, in MB. */
function peakOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  return Number(line?.split(/\s+/)[1] ?? NaN) / 1024;
}

let echoes = 0;

/** The floor for a manager call: one small frame to an echo server in another process and back. */
async function echoRoundTrip(n: number): Promise<number> {
  const { createConnection } = await import('node:net');
  const socket = join(dirname(empty), `echo-${process.pid}-${++echoes}.sock`); // a killed server leaves its file
  const server = join(dirname(empty), 'echo.mjs');
  writeFileSync(server, `import { createServer } from 'node:net';
createServer((s) => s.pipe(s)).listen(${JSON.stringify(socket)}, () => console.log('ready'));`);
  const child = spawn(process.execPath, runtime === 'deno' ? ['run', '-A', server] : [server], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    child.stdout!.once('data', resolve);
    child.once('exit', (code) => reject(new Error(`the echo server exited with code ${code}`)));
  });
  const conn = createConnection(socket);
  await new Promise((resolve) => conn.once('connect', resolve));
  const frame = Buffer.from([0, 0, 0, 8, 0x93, 1, 0xa4, 0x63, 0x61, 0x6c, 0x6c, 0x90]);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await new Promise((resolve) => { conn.once('data', resolve); conn.write(frame); });
  const us = ((performance.now() - t0) / n) * 1000;
  conn.destroy();
  child.kill();
  return us;
}

async function managerAppends(n: number, inFlight: number): Promise<number> {
  await using manager = await new mp.SyncManager({ module: null }).start();
  const list = await manager.list<number>();
  const ready = new mp.Semaphore(0), go = new mp.Event(), ends = mp.Array('d', 2, { lock: false });
  const child = new mp.Process({ target: appendAll, args: [list, n, inFlight, ready, go, ends] });
  child.start();
  await ready.acquireAsync({ timeout: 60 });
  go.set();
  await child.join();
  if (await list.length !== n + CHILD_WARM_UP) throw new Error('the manager list lost appends');
  return ((ends[1] - ends[0]) / n) * 1000;
}

/** 50 clients, each a process, call one manager at once: each call's time, and the time per call of them all. */
async function manyClients(n: number): Promise<Record<string, number>> {
  const clients = 50;
  await using manager = await new mp.SyncManager({ module: null }).start();
  const list = await manager.list<number>();
  const ready = new mp.Semaphore(0), go = new mp.Event(), out = new mp.Queue<number[]>();
  const children = Array.from({ length: clients }, () => new mp.Process({ target: timedAppends, args: [list, n, ready, go, out] }));
  children.forEach((p) => p.start());
  for (let i = 0; i < clients; i++) await ready.acquireAsync({ timeout: 120 });
  const t0 = now();
  go.set();
  const reports = [];
  for (let i = 0; i < clients; i++) reports.push(await out.getAsync({ timeout: 300 }));
  for (const p of children) await p.join();
  if (await list.length !== clients * (n + 1)) throw new Error('the manager list lost appends');
  const times = reports.flatMap((r) => r.slice(1)).sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  return {
    manager_50_clients_p50_us: at(0.5),
    manager_50_clients_p99_us: at(0.99),
    manager_50_clients_per_call_us: ((Math.max(...reports.map((r) => r[0])) - t0) / times.length) * 1000,
  };
}

const BIG_BYTES = 50_000_000;

/** The longest call of 3 clients busy with small appends while a fourth appends one 50 MB string, in ms. */
async function bigValueStall(): Promise<number> {
  await using manager = await new mp.SyncManager({ module: null }).start();
  const small = await manager.list<number>(), big = await manager.list<string>();
  const ready = new mp.Semaphore(0), stop = new mp.Event(), out = new mp.Queue<number>();
  const others = Array.from({ length: 3 }, () => new mp.Process({ target: appendUntil, args: [small, ready, stop, out] }));
  others.forEach((p) => p.start());
  for (let i = 0; i < 3; i++) await ready.acquireAsync({ timeout: 60 });
  await new Promise((r) => setTimeout(r, 200));
  await big.append('x'.repeat(BIG_BYTES));
  await new Promise((r) => setTimeout(r, 200));
  stop.set();
  const longest = [];
  for (let i = 0; i < 3; i++) longest.push(await out.getAsync({ timeout: 60 }));
  for (const p of others) await p.join();
  return Math.max(...longest);
}

/** The floor of a stall: one copy of 50 MB, in ms. */
function copyBig(): number {
  const bytes = new Uint8Array(BIG_BYTES).fill(120);
  const t0 = performance.now();
  const copy = bytes.slice();
  const ms = performance.now() - t0;
  if (copy[BIG_BYTES - 1] !== 120) throw new Error('the copy is wrong');
  return ms;
}

function timeLock(lock: mp.Lock, n: number): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    lock.acquire();
    lock.release();
  }
  return ((performance.now() - t0) / n) * 1e6;
}

async function started(p: mp.Process | Thread) {
  p.start();
  await p.join();
  if (p instanceof mp.Process && p.exitCode !== 0) throw new Error(`a benchmark child exited ${p.exitCode}`);
}

// An empty module: what a bare start of the runtime and a bare Worker run. Made by main() only,
// since children import this file too.
let empty = '';
let bareArgs: string[] = [];

// --- the figures: each returns the cost of one operation ---------------------------------------

type Measure = (n: number) => Promise<number> | number;
/** A figure's measure gives one number, or several figures from the same run, by name. */
interface Figure { count: number; mpkit: Measure | ((n: number) => Promise<Record<string, number>>); floor?: Measure; peers?: Record<string, Measure> }

/** Per task, for n trivial tasks submitted at once to a thread pool library with 2 threads. */
async function peerTasks(name: 'piscina' | 'tinypool', n: number): Promise<number> {
  const worker = join(dirname(empty), 'identity.mjs');
  writeFileSync(worker, 'export default (x) => x;\n');
  const pool = name === 'piscina'
    ? new (await import('piscina')).Piscina({ filename: worker, minThreads: 2, maxThreads: 2 })
    : new (await import('tinypool')).Tinypool({ filename: worker, minThreads: 2, maxThreads: 2 });
  await Promise.all(Array.from({ length: 100 }, (_, i) => pool.run(i))); // threads up and warm
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, (_, i) => pool.run(i)));
  const us = ((performance.now() - t0) / n) * 1000;
  await pool.destroy();
  return us;
}

async function twoProcesses(n: number, target: typeof increment | typeof rawIncrement, cell: mp.SharedValue<'i'> | mp.SharedArray<'i'>) {
  const ready = new mp.Semaphore(0), go = new mp.Event(), ends = mp.Array('d', 2, { lock: false });
  const procs = [0, 1].map((i) => new mp.Process({ target: target as typeof increment, args: [cell as mp.SharedValue<'i'>, n, ready, go, ends, i] }));
  for (const p of procs) p.start();
  for (const _ of procs) await ready.acquireAsync({ timeout: 60 });
  const t0 = now();
  go.set();
  for (const p of procs) await p.join();
  return ((Math.max(...ends.toArray()) - t0) / (2 * n)) * 1e6;
}

// The start rows measure each method by name, whatever the default is.
const spawned = mp.getContext('spawn');

/** Runs `work` with MPKIT_FFI=koffi in the environment children start with: libc through koffi, the FFI rows' before. */
async function onKoffi<T>(work: () => Promise<T>): Promise<T> {
  process.env.MPKIT_FFI = 'koffi';
  try {
    return await work();
  } finally {
    delete process.env.MPKIT_FFI;
  }
}

/** Per start + join, in ms, of n processes running `target`, spawned. */
async function processes(n: number, target: typeof nothing | (() => mp.Process)): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await started(typeof target === 'function' ? target() : new spawned.Process(target));
  return (performance.now() - t0) / n;
}

/** A bare start of this runtime on an empty file, in ms. */
async function bareStarts(n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await new Promise((resolve) => spawn(process.execPath, bareArgs, { stdio: 'ignore' }).once('exit', resolve));
  }
  return (performance.now() - t0) / n;
}

const warm = mp.getContext('warm');

/** Per start + join, in ms, of what `make` makes, with a spare booted and waiting before each (warm start; untimed). */
async function warmStarts(n: number, make: () => mp.Process | Thread): Promise<number> {
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (!await warm.warmUp(60)) throw new Error('no spare was ready within 60 s');
    const t0 = performance.now();
    await started(make());
    total += performance.now() - t0;
  }
  return total / n;
}

/** Per burst, in ms: 10 processes started at once and all joined, by `method`, as a program starting a batch would. */
async function bursts(n: number, method: mp.StartMethod): Promise<number> {
  const context = mp.getContext(method);
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (method === 'warm') await warm.warmUp(60);
    const t0 = performance.now();
    const batch = Array.from({ length: 10 }, () => new context.Process(nothing));
    for (const p of batch) p.start();
    for (const p of batch) await p.join();
    total += performance.now() - t0;
  }
  return total / n;
}

/** RSS of one idle spare process, in MB, read from its /proc status once it waits. */
async function spareRss(): Promise<number> {
  if (!await warm.warmUp(60)) throw new Error('no spare process was ready within 60 s');
  const [pid] = warm.idle().processes;
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? NaN) / 1024;
}

const FIGURES: Record<string, Figure> = {
  process_start_join_ms: { count: 10, mpkit: (n) => processes(n, nothing), floor: bareStarts },
  process_warm_start_join_ms: { count: 10, mpkit: (n) => warmStarts(n, () => new warm.Process(nothing)), floor: bareStarts },
  process_burst10_spawn_ms: { count: 3, mpkit: (n) => bursts(n, 'spawn') },
  process_burst10_warm_ms: { count: 3, mpkit: (n) => bursts(n, 'warm') },
  thread_warm_start_join_us: {
    count: 50,
    mpkit: async (n) => (await warmStarts(n, () => new warm.Thread(nothing))) * 1000,
    async floor(n) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await new Promise((resolve) => new Worker(empty, { execArgv: [] }).once('exit', resolve));
      return ((performance.now() - t0) / n) * 1000;
    },
  },
  rss_spare_process_mb: { count: 1, mpkit: spareRss },
  process_start_mpkit_ms: { count: 10, mpkit: (n) => processes(n, nothingWithMpkit), floor: bareStarts },
  process_start_value_ms: { count: 10, mpkit: (n) => processes(n, setsValue), floor: bareStarts },
  process_start_value_koffi_ms: { count: 10, mpkit: (n) => onKoffi(() => processes(n, setsValue)), floor: bareStarts },
  thread_start_join_us: {
    count: 200,
    async mpkit(n) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await started(new spawned.Thread(nothing));
      return ((performance.now() - t0) / n) * 1000;
    },
    async floor(n) {
      const t0 = performance.now();
      // No loader flags: a bare Worker, even where this script runs under tsx.
      for (let i = 0; i < n; i++) await new Promise((resolve) => new Worker(empty, { execArgv: [] }).once('exit', resolve));
      return ((performance.now() - t0) / n) * 1000;
    },
  },
  thread_lock_ns: {
    count: 1_000_000,
    mpkit: (n) => timeLock(new mp.Lock(), n),
    floor(n) {
      // The same two atomic operations on the same kind of memory, with nothing around them.
      const shm = new mp.SharedMemory({ create: true, size: 16 });
      const word = new Int32Array(shm.buf.buffer, shm.buf.byteOffset, 4);
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        if (Atomics.compareExchange(word, 0, 0, 1) === 0) Atomics.store(word, 0, 0);
      }
      const ns = ((performance.now() - t0) / n) * 1e6;
      shm.close();
      shm.unlink();
      return ns;
    },
  },
  process_lock_ns: {
    count: 1_000_000,
    async mpkit(n) {
      const out = mp.Value('d', 0, { lock: false });
      await started(new mp.Process({ target: lockLoop, args: [new mp.Lock(), n, out] }));
      return out.value;
    },
  },
  value_locked_incr_2proc_ns: {
    count: 200_000,
    async mpkit(n) {
      const value = mp.Value('i', 0);
      const ns = await twoProcesses(n, increment, value);
      if (value.value !== 2 * n) throw new Error(`the locked count is ${value.value}, not ${2 * n}`);
      return ns;
    },
    floor: (n) => twoProcesses(n, rawIncrement, mp.Array('i', 1, { lock: false })),
  },
  value_locked_incr_2proc_koffi_ns: {
    count: 200_000,
    async mpkit(n) {
      const value = mp.Value('i', 0);
      const ns = await onKoffi(() => twoProcesses(n, increment, value));
      if (value.value !== 2 * n) throw new Error(`the locked count is ${value.value}, not ${2 * n}`);
      return ns;
    },
  },
  manager_list_append_us: {
    count: 20_000,
    mpkit: (n) => managerAppends(n, 1),
    floor: echoRoundTrip,
  },
  manager_list_append_pipelined_us: {
    count: 200_000,
    mpkit: (n) => managerAppends(n, 1000),
  },
  manager_50_clients: { count: 1000, mpkit: manyClients },
  manager_big_value_stall_ms: { count: 1, mpkit: bigValueStall, floor: copyBig },
  queue_msg_us: {
    count: 100_000,
    async mpkit(n) {
      const queue = new mp.Queue<number>(), ready = new mp.Semaphore(0), ends = mp.Array('d', 1, { lock: false });
      const child = new mp.Process({ target: drain, args: [queue, n, ready, ends] });
      child.start();
      for (let i = 0; i < CHILD_WARM_UP; i++) queue.put(i);
      await ready.acquireAsync({ timeout: 60 });
      const t0 = now();
      for (let i = 0; i < n; i++) queue.put(i);
      await child.join();
      return ((ends[0] - t0) / n) * 1000;
    },
  },
  pool_map_small_us: {
    count: 200_000,
    async mpkit(n) {
      await using pool = new mp.Pool(2);
      await pool.map(identity, Array.from({ length: 100 }, (_, i) => i)); // workers up and warm
      const items = Array.from({ length: n }, (_, i) => i);
      const t0 = performance.now();
      await pool.map(identity, items);
      return ((performance.now() - t0) / n) * 1000;
    },
  },
  pool_apply_async_us: {
    count: 20_000,
    async mpkit(n) {
      await using pool = new mp.Pool(2);
      await pool.map(identity, Array.from({ length: 100 }, (_, i) => i));
      const t0 = performance.now();
      await Promise.all(Array.from({ length: n }, (_, i) => pool.applyAsync(identity, [i])));
      return ((performance.now() - t0) / n) * 1000;
    },
    peers: { piscina: (n) => peerTasks('piscina', n), tinypool: (n) => peerTasks('tinypool', n) },
  },
  rss_pool2_mb: {
    count: 1,
    async mpkit() {
      await using pool = new mp.Pool(2);
      const peaks = new Map(await pool.map(peakAndPid, Array.from({ length: 6 }, () => undefined), { chunksize: 1 }));
      return [...peaks.values()].reduce((a, b) => a + b, 0);
    },
  },
  rss_manager_mb: {
    count: 1,
    async mpkit() {
      await using manager = await new mp.SyncManager({ module: null }).start();
      await manager.list([1, 2, 3]);
      return peakOf(manager.pid!);
    },
  },
  rss_process_mb: {
    count: 1,
    async mpkit() {
      const out = mp.Value('d', 0, { lock: false });
      await started(new mp.Process({ target: ownPeak, args: [out] }));
      return out.value;
    },
  },
  ...CLUSTER_FIGURES,
  rss_thread_mb: {
    count: 5,
    async mpkit(n) {
      // How much this process grows per live thread: a JavaScript thread is a whole engine instance.
      const done = new mp.Event();
      const before = status('VmRSS');
      const threads = Array.from({ length: n }, () => new Thread({ target: waitFor, args: [done] }));
      for (const t of threads) t.start();
      await new Promise((r) => setTimeout(r, 300 + 100 * n));
      const grown = status('VmRSS') - before;
      done.set();
      for (const t of threads) await t.join();
      return grown / n;
    },
  },
};

export function waitFor(event: mp.Event) {
  event.wait(60);
}

function within<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(message)), ms); });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

// Figures a quick run measures at their full count (keep in step with reference.py): a queue
// message's hand-over settles over the first few milliseconds, which a tenth of the count did not
// hide (quick 1.96 against full 1.19 µs on Node 20).
const WHOLE_WHEN_QUICK = new Set(['queue_msg_us']);

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'mpkit-bench-'));
  empty = join(dir, 'empty.mjs');
  writeFileSync(empty, '');
  bareArgs = runtime === 'deno' ? ['run', '-A', empty] : [empty];
  const argv = process.argv.slice(2);
  const flag = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
  const quick = argv.includes('--quick');
  const repeats = Number(flag('--repeats') ?? (quick ? 3 : 5));
  const only = flag('--only')?.split(',');
  const stats = (runs: number[]) => {
    const sorted = [...runs].sort((a, b) => a - b);
    return { median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted[sorted.length - 1] };
  };
  const figures: Record<string, unknown> = {}, floors: Record<string, unknown> = {}, peers: Record<string, Record<string, unknown>> = {};
  for (const [name, figure] of Object.entries(FIGURES)) {
    if (only && !only.some((o) => o === name || o.startsWith(`${name}_`))) continue; // a name, or one of the figures it gives
    const n = figure.count > 10 && !WHOLE_WHEN_QUICK.has(name) ? Math.max(3, Math.floor(figure.count * (quick ? 0.1 : 1))) : figure.count;
    const runs: Record<string, number[]> = {}, floorRuns: number[] = [];
    // An untimed tenth of the full count first, in a quick run too, so that both measure code as
    // warm: with a tenth of its own (smaller) count, a quick run's manager append on Node 20 was
    // 3 times a full run's (59 against 19 µs, npm run bench:agree).
    if (figure.count > 10) {
      const warmUp = Math.max(1, Math.floor(figure.count / 10));
      await figure.mpkit(warmUp);
      if (figure.floor) await figure.floor(warmUp);
    }
    for (let r = 0; r < repeats; r++) {
      const result = await figure.mpkit(n);
      for (const [key, v] of Object.entries(typeof result === 'number' ? { [name]: result } : result)) (runs[key] ??= []).push(v);
      if (figure.floor) floorRuns.push(await figure.floor(n));
    }
    for (const [key, values] of Object.entries(runs)) figures[key] = stats(values);
    if (figure.floor) floors[name] = stats(floorRuns);
    for (const [peer, measure] of Object.entries(figure.peers ?? {})) {
      // A peer that does not run on this runtime is reported as missing, not as a failure of ours.
      try {
        const peerRuns: number[] = [];
        // Ours takes about a second here; a peer 10 times slower than that has hung (tinypool on Deno).
        const bound = quick ? 10 : 30;
        for (let r = 0; r < repeats; r++) peerRuns.push(await within(Promise.resolve(measure(n)), bound * 1000, `${peer} did not finish in ${bound} s on ${runtime}`));
        (peers[name] ??= {})[peer] = stats(peerRuns);
      } catch (e) {
        (peers[name] ??= {})[peer] = { error: (e as Error).message.split('\n')[0] };
      }
    }
  }
  rmSync(dir, { recursive: true, force: true });
  await stopRedis();
  console.log(JSON.stringify({ runtime, version, figures, floors, peers }));
  // A peer that hung (tinypool on Deno) still holds its threads; the figures are out, so end here.
  process.exit(0);
}

if (mp.isMain(import.meta)) await main();
