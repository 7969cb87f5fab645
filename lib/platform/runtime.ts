// The runtime seam: which runtime this is, how it names its main module, reads its environment and
// exits (launch.ts: how it starts a child). Nothing outside lib/platform/ asks which runtime it is on.
import { builtin } from './builtins.ts';

type Meta = { url: string; main?: boolean };
interface DenoNamespace {
  mainModule: string;
  env: { get(name: string): string | undefined; delete(name: string): void };
  exit(code: number): never;
}
const g = globalThis as { Deno?: DenoNamespace; Bun?: { main: string; isMainThread: boolean }; postMessage?: unknown };

export type RuntimeName = 'node' | 'deno' | 'bun';
export const runtime: RuntimeName = g.Bun ? 'bun' : g.Deno ? 'deno' : 'node';

let main: string | undefined;

/** The URL of the program's entry module (worked out once: every isMain guard and task asks). */
export function mainModule(): string {
  if (main !== undefined) return main;
  if (g.Deno) return (main = g.Deno.mainModule);
  if (g.Bun) return (main = builtin('node:url').pathToFileURL(g.Bun.main).href);
  return (main = process.argv[1] ? builtin('node:url').pathToFileURL(process.argv[1]).href : '');
}

let program: string | undefined;

/**
 * Where a target is looked up when no module is named: the program's entry module, also in the
 * processes and threads it starts (Python's __mp_main__), whose own entry is mpkit's bootstrap (and
 * a Deno worker has no Deno.mainModule at all). Unlike mainModule(), never what isMain() asks.
 */
export function programModule(): string {
  return program ?? mainModule();
}

/** In a child process or thread: the program's entry module, as its parent knew it. */
export function setProgramModule(url: string) {
  program = url;
}

let onMain: boolean | undefined;

/**
 * True on the main thread, not in a worker. Bun and Deno say so themselves: loading
 * node:worker_threads to ask costs them 5 to 8 ms, which every child would pay at its start.
 */
export function isMainThread(): boolean {
  // A Deno worker's global scope is a DedicatedWorkerGlobalScope, which alone has postMessage.
  onMain ??= g.Bun ? g.Bun.isMainThread : g.Deno ? typeof g.postMessage !== 'function' : builtin('node:worker_threads').isMainThread;
  return onMain;
}

// A child reads its spec and exits through these. On Deno, `process` is Node compatibility, which
// sets itself up on first touch (about 12 ms): a child that needs nothing of Node's skips it.

/** Reads an environment variable and removes it, so this process's own children do not inherit it. */
export function takeEnv(name: string): string | undefined {
  const env = g.Deno ? g.Deno.env : { get: (n: string) => process.env[n], delete: (n: string) => { delete process.env[n]; } };
  const value = env.get(name);
  if (value !== undefined) env.delete(name);
  return value;
}

/** Ends this process with `code`; 'exit' listeners run, on Deno too. */
export function exit(code: number): never {
  return g.Deno ? g.Deno.exit(code) : process.exit(code);
}

/** True in the module the program was started with; false when a child process imports it. */
export function isMain(meta: Meta): boolean {
  return meta.main ?? meta.url === mainModule();
}

export const RUNTIMES: readonly RuntimeName[] = ['node', 'deno', 'bun'];
