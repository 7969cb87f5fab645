// For a Node that cannot strip types (Node 20): a TypeScript target's module, with the TypeScript
// of the program's own that it imports, as one JavaScript file that a child imports with no loader.
// Node 20 runs module hooks on a thread of their own, whose start (~30 ms here) every child process
// and worker thread paid to read its target; a bundle made once costs a few stat calls after that.
//
// The first child of a module still reads it through the hooks while the bundle is made beside it
// (Process.start cannot wait, and esbuild's plugins are asynchronous); later children, and later
// runs, import the bundle for as long as none of its files changes. Whatever is not the program's
// own TypeScript stays where it is: packages, JavaScript, node: builtins and mpkit are imported from
// their own files by absolute URL, so they are the same modules as anywhere else, and each bundled
// file keeps its own import.meta.url. Where a bundle could behave otherwise than the files as
// written (an import() of anything but a string literal, import.meta.resolve), no bundle is made.
import type { Plugin } from 'esbuild';
import { builtin } from './builtins.ts';

/** A TypeScript module's file, as launch.ts and this file tell them. */
export const TS_FILE = /\.[mc]?ts$/;
const VERSION = 1; // bump when the bundle's making changes

// A bundle, or null where none can be made (it is not tried again until one of the inputs changes).
interface Made { file: string | null; inputs: [path: string, size: number, mtimeMs: number][] }

const known = new Map<string, Made | 'making'>();
const making = new Map<string, Promise<unknown>>();

function cacheDir(): string {
  const os = builtin('node:os');
  return builtin('node:path').join(os.tmpdir(), `mpkit-ts-${os.userInfo().uid}`);
}

function manifestOf(url: string): string {
  // The Node major is in the key, as the bundle is lowered for it (ts_hooks.mjs says why).
  const hash = builtin('node:crypto').createHash('sha1').update(`${VERSION}\0${process.versions.node.split('.')[0]}\0${url}`).digest('hex');
  return builtin('node:path').join(cacheDir(), `${hash}.json`);
}

/** True while every file the bundle was made from is as it was then. */
function fresh(made: Made): boolean {
  const fs = builtin('node:fs');
  try {
    return (made.file === null || fs.existsSync(made.file)) && made.inputs.every(([path, size, mtimeMs]) => {
      const st = fs.statSync(path);
      return st.size === size && st.mtimeMs === mtimeMs;
    });
  } catch {
    return false;
  }
}

/**
 * The URL of a bundle of the TypeScript module at `url`, ready for a child to import with no
 * loader; null when the child should read TypeScript through the hooks (a bundle is then made for
 * the next one, where it can be).
 */
export function bundledModule(url: string, conditions: string[]): string | null {
  if (!url.startsWith('file:') || !TS_FILE.test(new URL(url).pathname)) return null;
  let made = known.get(url);
  if (made === 'making') return null;
  if (!made) {
    try { made = JSON.parse(builtin('node:fs').readFileSync(manifestOf(url), 'utf8')) as Made; } catch { /* none yet */ }
  }
  if (made && fresh(made)) {
    known.set(url, made);
    return made.file && builtin('node:url').pathToFileURL(made.file).href;
  }
  known.set(url, 'making');
  // A failed build (a syntax error) leaves the module to the hooks, which report it where it is.
  const done = make(url, conditions).then((m) => known.set(url, m), () => known.set(url, { file: null, inputs: [] }));
  making.set(url, done.finally(() => making.delete(url)));
  return null;
}

/** Settles once a bundle of `url` that bundledModule() started making is made (or has failed). */
export async function bundleMade(url: string): Promise<void> {
  await making.get(url);
}

async function make(url: string, conditions: string[]): Promise<Made> {
  const esbuild = await import('esbuild');
  const { readFileSync, writeFileSync, renameSync, mkdirSync, statSync } = builtin('node:fs');
  const { dirname, resolve } = builtin('node:path');
  const { fileURLToPath, pathToFileURL } = builtin('node:url');
  const entry = fileURLToPath(url);
  let refused = false;
  const own: Plugin = {
    name: 'mpkit-own-typescript',
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === 'resolving' || args.kind === 'entry-point') return undefined;
        if (args.path.startsWith('node:')) return { path: args.path, external: true };
        const r = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'resolving' });
        if (r.errors.length) return { errors: r.errors };
        if (!r.path || r.external) return { path: args.path, external: true }; // a builtin without node:
        // The program's own TypeScript is bundled; everything else stays in its own file. A package's
        // TypeScript would be a second copy of a module loaded elsewhere: the hooks read it instead.
        if (!TS_FILE.test(r.path)) return { path: pathToFileURL(r.path).href, external: true };
        if (r.path.includes('/node_modules/')) refused = true;
        return { path: r.path };
      });
      b.onLoad({ filter: TS_FILE }, async (args) => {
        const source = readFileSync(args.path, 'utf8');
        // esbuild would bundle the files an import(`./${name}.ts`) matches now, not one added later.
        if (/import\.meta\.resolve|\bimport\s*\(\s*(?!['"])/.test(source)) refused = true;
        const meta = { url: pathToFileURL(args.path).href, filename: args.path, dirname: dirname(args.path) };
        const out = await esbuild.transform(source, {
          loader: 'ts', format: 'esm', sourcefile: args.path, sourcemap: 'inline',
          define: { 'import.meta': JSON.stringify(meta) },
        });
        return { contents: out.code, loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
  const result = await esbuild.build({
    entryPoints: [entry], bundle: true, write: false, format: 'esm', platform: 'node', metafile: true,
    target: `node${process.versions.node.split('.')[0]}`, conditions, mainFields: ['main'],
    sourcemap: 'inline', logLevel: 'silent', plugins: [own],
  });
  mkdirSync(cacheDir(), { recursive: true });
  const cwd = process.cwd();
  const inputs = Object.keys(result.metafile.inputs).map((p) => {
    const path = resolve(cwd, p), st = statSync(path);
    return [path, st.size, st.mtimeMs] as [string, number, number];
  });
  const manifest = manifestOf(url);
  // A warning is a place where the bundle could differ from the files (an import() esbuild cannot follow).
  const file = refused || result.warnings.length ? null : manifest.replace(/\.json$/, '.mjs');
  const made: Made = { file, inputs };
  // Atomic, as another program may read them at the same time: all or nothing. The temporary name
  // is this writer's alone: threads of one process bundle at once too (the seed's experiment once
  // lost a thread when two of them renamed the same file.<pid>).
  const mine = `${process.pid}.${Math.random().toString(36).slice(2)}`;
  if (file) {
    writeFileSync(`${file}.${mine}`, result.outputFiles[0].text);
    renameSync(`${file}.${mine}`, file);
  }
  writeFileSync(`${manifest}.${mine}`, JSON.stringify(made));
  renameSync(`${manifest}.${mine}`, manifest);
  return made;
}
