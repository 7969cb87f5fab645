// What a new process or thread is told: which module to import, which export to call, with which
// arguments. Python's spawn start method: the child imports the parent's module (whose top-level
// code is kept from running again by the isMain guard) and looks the target up by name. This is
// the parent's side; child.ts is the child's.
import { programModule } from './platform/runtime.ts';
import { dumpsShared } from './reduction.ts';
import { builtin } from './platform/builtins.ts';

export type Target<A extends unknown[]> = ((...args: A) => unknown) | string;

/** How a child is started: 'spawn' boots a new runtime for it; 'warm' hands it to a spare booted ahead (warm.ts). */
export type StartMethod = 'spawn' | 'warm';
export const START_METHODS: readonly StartMethod[] = ['spawn', 'warm'];
const DEFAULT_METHOD: StartMethod = 'warm';
let chosen: StartMethod | null = null;

/** The start method set for this program, or null if none was (Python's get_start_method(allow_none=True)). */
export function chosenStartMethod(): StartMethod | null { return chosen; }
export function startMethodOr(method: StartMethod | undefined): StartMethod { return method ?? chosen ?? DEFAULT_METHOD; }

export function checkStartMethod(method: unknown): asserts method is StartMethod {
  if (!START_METHODS.includes(method as StartMethod)) throw new TypeError(`Unknown start method "${String(method)}": use ${START_METHODS.join(' or ')}`);
}

export function chooseStartMethod(method: StartMethod | null, force: boolean) {
  if (method !== null) checkStartMethod(method);
  if (chosen !== null && !force) throw new Error(`The start method is already set (to "${chosen}"): pass { force: true } to change it`);
  chosen = method;
}

/** A promise that a Process or Thread has ended which, unlike join(), does not keep the program alive for it. */
export const ENDED = Symbol('mpkit.ended');

/** `args`, which may be left out only when the target needs none (`[] extends A`: every parameter optional). */
export type ArgsOption<A extends unknown[]> = [] extends A ? { args?: A } : { args: A };

export interface SpawnSpec {
  module: string; // URL of the module that exports the target
  source?: string; // where the child imports a bundle of that module (platform/ts_bundle.ts): the module itself
  target: string; // the export's name
  args: string; // msgpack, base64: structured-clone values with mpkit objects reduced
  shared?: boolean; // args hold mpkit objects, so the child loads mpkit before reviving them
  name: string;
  parentPid: number | null; // the process that started this one; a thread's is its process's parent (none in the main process)
  daemon?: boolean; // a process that ends with its parent (see endWithParent)
  program: string; // the program's entry module, where the child's own targets default to (programModule)
}

/** Refuses options without a usable target when a Process or Thread is made. */
export function checkTarget(kind: string, options: { target?: unknown } | undefined) {
  if (!options || (typeof options.target !== 'function' && typeof options.target !== 'string')) {
    const or = kind === 'Process' ? ', or a subclass of Process that overrides run()' : '';
    throw new TypeError(`${kind} needs a target: an exported function, or its export name${or}`);
  }
}

/** Resolves once every non-daemon one of `started` has ended: what a child waits for before it exits. */
export function nonDaemonsEnded(started: Iterable<{ daemon: boolean; [ENDED](): Promise<void> }>): Promise<void> {
  return Promise.all([...started].filter((s) => !s.daemon).map((s) => s[ENDED]())).then(() => {});
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
  const { bytes, shared } = args.length ? dumpsShared(args, 'args') : { bytes: null, shared: false };
  return { module: url, target: exportName, args: bytes ? Buffer.from(bytes).toString('base64') : '', shared, name, parentPid: process.pid, program };
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
