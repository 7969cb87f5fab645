import { ownFile } from './files.ts';

// Node's built-in modules, loaded when first used rather than when mpkit is imported. Every child
// process and thread imports mpkit; on Deno and Bun each node: module takes milliseconds to set
// up, and most children never start a process of their own or read the file system.
interface Builtins {
  'node:child_process': typeof import('node:child_process');
  'node:crypto': typeof import('node:crypto');
  'node:fs': typeof import('node:fs');
  'node:module': typeof import('node:module');
  'node:net': typeof import('node:net');
  'node:os': typeof import('node:os');
  'node:path': typeof import('node:path');
  'node:url': typeof import('node:url');
  'node:util': typeof import('node:util');
  'node:worker_threads': typeof import('node:worker_threads');
}

// `process` itself is only touched on the first call: on Deno, the global sets up Node
// compatibility, some 12 ms that a child which never needs a builtin should not pay.
export function builtin<K extends keyof Builtins>(name: K): Builtins[K] {
  return (process as unknown as { getBuiltinModule(name: string): unknown }).getBuiltinModule(name) as Builtins[K];
}

/** In a child on Node 20.0 to 20.15, which lack process.getBuiltinModule: loads the shim that adds it. */
export async function ensureBuiltins(): Promise<void> {
  const g = globalThis as { Deno?: unknown; Bun?: unknown; process?: { getBuiltinModule?: unknown } };
  if (g.Deno || g.Bun || g.process?.getBuiltinModule) return;
  await import(ownFile('platform/builtins_shim.mjs').href);
}
