// The runtime seam: how Node, Deno and Bun name their main module and start a child of their own
// kind. Nothing outside lib/platform/ asks which runtime it is on.
import { pathToFileURL } from 'node:url';

type Meta = { url: string; main?: boolean };
const g = globalThis as { Deno?: { mainModule: string }; Bun?: { main: string } };

export type RuntimeName = 'node' | 'deno' | 'bun';
export const runtime: RuntimeName = g.Bun ? 'bun' : g.Deno ? 'deno' : 'node';

/** The URL of the program's entry module. */
export function mainModule(): string {
  if (g.Deno) return g.Deno.mainModule;
  if (g.Bun) return pathToFileURL(g.Bun.main).href;
  return process.argv[1] ? pathToFileURL(process.argv[1]).href : '';
}

/** True in the module the program was started with; false when a child process imports it. */
export function isMain(meta: Meta): boolean {
  return meta.main ?? meta.url === mainModule();
}

/** The command that runs `entry` (a file path) on the same runtime, with the same flags. */
export function childCommand(entry: string): [string, string[]] {
  if (runtime === 'deno') return [process.execPath, ['run', '-A', entry]];
  if (runtime === 'bun') return [process.execPath, [entry]];
  // Node's flags carry over (tsx's --import among them), so the child reads TypeScript as the parent did.
  return [process.execPath, [...process.execArgv, entry]];
}

/**
 * What a worker thread should load to run `entry`. Node 20 reads TypeScript only through tsx's
 * hooks, which a worker does not inherit: there the worker first registers tsx, then imports.
 */
export function workerEntry(entry: URL): { file: URL | string; eval: boolean } {
  const needsTsx = runtime === 'node' && entry.pathname.endsWith('.ts') && !(process.features as { typescript?: unknown }).typescript;
  if (!needsTsx) return { file: entry, eval: false };
  const api = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  return { file: code, eval: true };
}
