// The target of the start-up figures, alone in its module: a child imports its target's module,
// and figures.ts would add its own imports (node:fs, node:worker_threads, ...) to every start.
export function nothing() {}
