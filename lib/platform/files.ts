// Where mpkit's own files are, for the children it starts. From the sources they sit under lib/;
// from the built package (scripts/build.ts) all of lib/ is one module, dist/mpkit.js, and the
// files a child starts with sit beside it under the same paths, as JavaScript.
declare const MPKIT_BUILT: boolean | undefined; // defined by scripts/build.ts, absent in the sources

/** True in dist/mpkit.js. */
export const built = typeof MPKIT_BUILT !== 'undefined';

/** A file of mpkit's, named by its path under lib/ (`bootstrap.ts`, `platform/thread_entry.mjs`). */
export function ownFile(path: string): URL {
  return built ? new URL(`./${path.replace(/\.ts$/, '.js')}`, import.meta.url) : new URL(`../${path}`, import.meta.url);
}

/**
 * Where a child finds one of mpkit's own targets (the pool's worker, the manager's server) that
 * the module at `source` exports: that module, or in the built package the bundle, which exports
 * them beside the public names (scripts/build.ts).
 */
export function ownTargets(source: string): string {
  return built ? new URL('./mpkit.js', import.meta.url).href : source;
}
