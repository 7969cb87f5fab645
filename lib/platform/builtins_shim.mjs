// Node 20.0 to 20.15 have no process.getBuiltinModule (20.16), through which mpkit loads Node's
// modules when they are first used (builtins.ts): this gives them one. Loaded on Node alone (the
// package's "node" entries, ensureBuiltins()), since node:module takes Deno some 25 ms to set up.
import { createRequire } from 'node:module';

process.getBuiltinModule ??= createRequire(import.meta.url);
