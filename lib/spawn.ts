// What a new process or thread is told: which module to import, which export to call, with which
// arguments. Python's spawn start method: the child imports the parent's module (whose top-level
// code is kept from running again by the isMain guard) and looks the target up by name.
import { isMainThread, programModule, setProgramModule } from './platform/runtime.ts';
import { dumps, loads } from './reduction.ts';
import { builtin } from './platform/builtins.ts';
import { setIdentity } from './identity.ts';
import { endWithParentThread } from './platform/linux.ts';

export type Target<A extends unknown[]> = ((...args: A) => unknown) | string;

export interface SpawnSpec {
  module: string; // URL of the module that exports the target
  target: string; // the export's name
  args: string; // msgpack, base64: structured-clone values with mpkit objects reduced
  name: string;
  parentPid: number;
  daemon?: boolean; // a process that ends with its parent (see endWithParent)
  program: string; // the program's entry module, where the child's own targets default to (programModule)
}

/** Refuses options without a usable target when a Process or Thread is made. */
export function checkTarget(kind: string, options: { target?: unknown } | undefined) {
  if (!options || (typeof options.target !== 'function' && typeof options.target !== 'string')) {
    throw new TypeError(`${kind} needs a target: an exported function, or its export name`);
  }
}

/** Resolves when `ended` does, or after `timeout` seconds: Python's join(timeout). */
export async function joinWithin(ended: Promise<void>, timeout?: number | null): Promise<void> {
  if (timeout == null) return ended;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([ended, new Promise<void>((r) => { timer = setTimeout(r, Math.max(0, timeout) * 1000); })]);
  clearTimeout(timer);
}

export function moduleURL(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (/^[a-z]+:/i.test(module)) return module;
  return builtin('node:url').pathToFileURL(builtin('node:path').resolve(module)).href;
}

export function makeSpec(target: Target<unknown[]>, args: unknown[], name: string, module?: string | URL): SpawnSpec {
  const exportName = typeof target === 'string' ? target : target.name;
  if (!exportName || exportName === 'anonymous' || /^bound /.test(exportName)) {
    throw new TypeError('The target must be a named function exported by its module (or its export name as a string), so the child can import it');
  }
  const program = programModule(), url = module ? moduleURL(module) : program;
  return { module: url, target: exportName, args: args.length ? Buffer.from(dumps(args)).toString('base64') : '', name, parentPid: process.pid, program };
}

// One environment string may hold at most 128 KiB on Linux; a bigger spec goes through a file
// that only this user can read, which the child reads and the parent removes when the child ends.
const ENV_LIMIT = 64 * 1024;

/** How a spec reaches a child process: the environment it gets, and what to clean up afterwards. */
export function specEnv(spec: SpawnSpec): { env: Record<string, string>; remove(): void } {
  const json = JSON.stringify(spec);
  if (json.length <= ENV_LIMIT) return { env: { MPKIT_SPAWN: json }, remove() {} };
  const { join } = builtin('node:path'), fs = builtin('node:fs');
  const file = join(builtin('node:os').tmpdir(), `mpkit-spawn-${process.pid}-${crypto.randomUUID()}.json`);
  fs.writeFileSync(file, json, { mode: 0o600 });
  return { env: { MPKIT_SPAWN_FILE: file }, remove: () => fs.rmSync(file, { force: true }) };
}

/** In a child process: the spec its parent handed over (null if it was not started by mpkit). */
export function receivedSpec(): SpawnSpec | null {
  const { MPKIT_SPAWN: json, MPKIT_SPAWN_FILE: file } = process.env;
  delete process.env.MPKIT_SPAWN; // the child's own children get their own
  delete process.env.MPKIT_SPAWN_FILE;
  if (json) return JSON.parse(json);
  return file ? JSON.parse(builtin('node:fs').readFileSync(file, 'utf8')) : null;
}

/** In the child: import the module and find the target, with an error that says what to change. */
export async function loadTarget(spec: Pick<SpawnSpec, 'module' | 'target' | 'args'>): Promise<{ fn: (...args: unknown[]) => unknown; args: unknown[] }> {
  const mod = await import(spec.module) as Record<string, unknown>;
  const fn = mod[spec.target];
  if (typeof fn !== 'function') {
    throw new TypeError(`Target "${spec.target}" is not exported from ${spec.module}: export it so the child can import it`);
  }
  return { fn: fn as (...args: unknown[]) => unknown, args: spec.args ? loads(Buffer.from(spec.args, 'base64')) as unknown[] : [] };
}

/**
 * What every process and thread mpkit starts runs: import the target's module, call the target,
 * exit. An exception prints its stack to stderr and exits with code 1, as in Python.
 */
export async function runChild(): Promise<void> {
  const main = isMainThread();
  const spec: SpawnSpec | null = main ? receivedSpec() : builtin('node:worker_threads').workerData;
  if (!spec) {
    console.error('mpkit/bootstrap is started by Process and Thread, not by hand');
    process.exit(2);
  }
  setIdentity(spec.name, main ? spec.parentPid : null);
  if (spec.program) setProgramModule(spec.program);
  if (main && spec.daemon) endWithParent(spec);
  try {
    const { fn, args } = await loadTarget(spec);
    await fn(...args);
    if (main) process.exit(0);
  } catch (e) {
    console.error(e instanceof Error ? e.stack : e);
    if (main) process.exit(1);
    // A thread that raises prints its stack and ends; the process goes on, as in Python.
  }
}

// A daemon process ends with its parent, as in Python: a parent that exits terminates its daemons
// (process.ts), but one killed outright cannot, and a pool's workers would wait on its queue for
// ever. So the kernel is asked to see to it (endWithParentThread), which works even while this
// process's JavaScript is blocked. Its signal comes when the thread that started the child ends:
// for a daemon started from a worker thread, when that thread does, as process.ts's exit hook
// (which runs per thread) would do anyway. Where the kernel cannot, the child watches: once its
// parent is gone it has been handed to another, so its ppid changes, which pid reuse cannot fake.
const WATCH_MS = 250;

function endWithParent(spec: SpawnSpec) {
  const gone = () => process.ppid !== spec.parentPid;
  if (!endWithParentThread()) {
    const timer = setInterval(() => { if (gone()) process.kill(process.pid, 'SIGTERM'); }, WATCH_MS);
    (timer as { unref?(): void }).unref?.(); // it never keeps a daemon alive by itself
  }
  if (gone()) process.kill(process.pid, 'SIGTERM'); // the parent died before any of that was in place
}
