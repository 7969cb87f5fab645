// Module hooks that let a Node without type stripping (Node 20) import TypeScript in mpkit's
// children, at a fraction of tsx's start-up: each file is transpiled once by esbuild and kept in a
// cache keyed by its path, size and mtime, so later children only read JavaScript from disk.
// Plain JavaScript, since it runs before anything can read TypeScript.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TS = /\.m?ts$/;
const VERSION = 1; // bump when the transform below changes
let cacheDir = join(tmpdir(), `mpkit-ts-${userInfo().uid}`);
let esbuild = null;

export function initialize(data) {
  if (data?.cacheDir) cacheDir = data.cacheDir;
  mkdirSync(cacheDir, { recursive: true });
}

// TypeScript's own convention: `./x.js` in source may mean `./x.ts` on disk; extensionless works too.
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (e) {
    if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !/^\.{1,2}\//.test(specifier)) throw e;
    for (const candidate of [specifier.replace(/\.js$/, '.ts'), `${specifier}.ts`, `${specifier}/index.ts`]) {
      if (candidate === specifier) continue;
      try { return await next(candidate, context); } catch { /* the next one */ }
    }
    throw e;
  }
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !TS.test(new URL(url).pathname)) return next(url, context);
  const file = fileURLToPath(url);
  const { size, mtimeMs } = statSync(file);
  // The target is in the key: Nodes of two majors share this folder, and code lowered for the newer
  // one (await using, kept as it is for Node 24) is a SyntaxError on the older (Node 20).
  const target = `node${process.versions.node.split('.')[0]}`;
  const key = createHash('sha1').update(`${VERSION}\0${target}\0${file}\0${size}\0${mtimeMs}`).digest('hex');
  const cached = join(cacheDir, `${key}.mjs`);
  try {
    return { format: 'module', source: readFileSync(cached, 'utf8'), shortCircuit: true };
  } catch { /* not cached yet */ }
  esbuild ??= await import('esbuild');
  const { code } = esbuild.transformSync(readFileSync(file, 'utf8'), {
    loader: 'ts', format: 'esm', target, sourcemap: 'inline', sourcefile: file,
  });
  const temporary = `${cached}.${process.pid}.${Math.random().toString(36).slice(2)}`; // this writer's own, threads included
  writeFileSync(temporary, code);
  renameSync(temporary, cached); // atomic: a child reading it at the same time sees all or nothing
  return { format: 'module', source: code, shortCircuit: true };
}
