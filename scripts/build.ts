// `npm run build` (and `prepare`, so `npm install` runs it): lib/ as the package ships it, in dist/.
// Node refuses to strip types under node_modules (so does Deno), so an installed mpkit must be
// JavaScript; and one module loads several times faster than forty (Node 24: 27 ms less for every
// child process and thread), so all of lib/ becomes one bundle, dist/mpkit.js. The bootstrap that
// every child process and thread starts with is a second entry: esbuild splits out what the two
// share (child.ts and what it needs) into one chunk, so a child whose target does not use mpkit
// loads that alone (Bun: 7 ms less per child), and one that does gets the same module instances.
// Each further chunk would cost a child a module load (~0.8 ms on Bun), so the bootstrap's imports
// are static: esbuild gives a dynamic import() a chunk of its own.
//   mpkit.js, chunk-*.js      the bundle, and the part it shares with the bootstrap
//   index.js, threading.js, connection.js, pickle.js, cluster.js   the package's entry points, re-exporting the bundle's public names
//   cli.js                    the `mpkit` command (`mpkit worker`)
//   *.node.js                 the same for Node, which first gives Node before 20.16 getBuiltinModule
//   bootstrap.js              what every child process and thread starts with
//   platform/*.mjs, resource_tracker_main.js   the plain JavaScript files children start, copied
//   types/                    declarations of lib/ (tsconfig.build.json), mapped back to lib/, which ships too
//   mdspec.js                 the doc runner as one file with nothing to install (markdown-it inside)
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const lib = join(root, 'lib'), dist = join(root, 'dist');

/** The names a lib module exports at run time (its types aside), as esbuild sees them. */
async function exportsOf(file: string): Promise<string[]> {
  const result = await build({ entryPoints: [join(lib, file)], bundle: true, write: false, metafile: true, format: 'esm', platform: 'node', outdir: dist, logLevel: 'error' });
  return Object.values(result.metafile.outputs).find((o) => o.entryPoint)!.exports;
}

// The bundle exports what the package does, plus what children look up by name in the module of
// their target (platform/files.ts: ownTargets): the manager's server, the pool's worker.
const entry = `
export * from './index.ts';
export * from './threading.ts';
export * from './connection.ts';
export * from './pickle.ts';
export * from './cluster.ts';
export { serveManager } from './managers.ts';
export { poolWorker } from './pool.ts';
`;

/** The bundle's entry, which is no file of lib/'s. */
const entryPlugin = {
  name: 'mpkit-entry',
  setup(b: import('esbuild').PluginBuild) {
    b.onResolve({ filter: /^mpkit-entry$/ }, () => ({ path: 'mpkit.ts', namespace: 'mpkit-entry' }));
    b.onLoad({ filter: /.*/, namespace: 'mpkit-entry' }, () => ({ contents: entry, resolveDir: lib, loader: 'ts' }));
  },
};

export async function buildDist(): Promise<void> {
  const started = performance.now();
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(join(dist, 'platform'), { recursive: true });
  await build({
    entryPoints: [{ in: 'mpkit-entry', out: 'mpkit' }, { in: join(lib, 'bootstrap.ts'), out: 'bootstrap' }],
    plugins: [entryPlugin],
    outdir: dist, splitting: true, chunkNames: '[name]-[hash]', // beside mpkit.js: ownFile() looks there
    bundle: true, format: 'esm', platform: 'node', target: 'node20', packages: 'external',
    define: { MPKIT_BUILT: 'true' },
    sourcemap: 'linked', sourcesContent: false, logLevel: 'error', // the maps point into lib/, which ships
  });
  const reexport = (names: string[]) => `export { ${names.join(', ')} } from './mpkit.js';\n`;
  writeFileSync(join(dist, 'index.js'), reexport(await exportsOf('index.ts')));
  for (const name of ['threading', 'connection', 'pickle', 'cluster']) writeFileSync(join(dist, `${name}.js`), reexport(await exportsOf(`${name}.ts`)));
  // Node's entries ("node" in package.json's exports) give Node before 20.16 what mpkit needs first.
  for (const name of ['index', 'threading', 'connection', 'pickle', 'cluster']) writeFileSync(join(dist, `${name}.node.js`), `import './platform/builtins_shim.mjs';\nexport * from './${name}.js';\n`);
  // The `mpkit` command: the shim is for Node alone, and costs Deno and Bun nothing they need.
  writeFileSync(join(dist, 'cli.js'), `#!/usr/bin/env node\nif (!globalThis.Deno && !globalThis.Bun) await import('./platform/builtins_shim.mjs');\nconst { cli } = await import('./mpkit.js');\nawait cli(process.argv.slice(2));\n`);
  chmodSync(join(dist, 'cli.js'), 0o755);
  const threadEntry = readFileSync(join(lib, 'platform', 'thread_entry.mjs'), 'utf8');
  if (!threadEntry.includes("'../bootstrap.ts'")) throw new Error('lib/platform/thread_entry.mjs no longer imports ../bootstrap.ts: update scripts/build.ts');
  writeFileSync(join(dist, 'platform', 'thread_entry.mjs'), threadEntry.replace("'../bootstrap.ts'", "'../bootstrap.js'"));
  for (const file of ['platform/ts_register.mjs', 'platform/ts_hooks.mjs', 'platform/builtins_shim.mjs', 'resource_tracker_main.js']) copyFileSync(join(lib, file), join(dist, file));
  await buildMdspec();
  execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  console.error(`built ${relative(process.cwd(), dist) || '.'}/ in ${Math.round(performance.now() - started)} ms`);
}

/**
 * mdspec as its package's bin: one JavaScript file that any Node 20 runs with no TypeScript tooling
 * and nothing to install, which is also the file a user may copy into a project of their own.
 */
async function buildMdspec(): Promise<void> {
  const file = join(dist, 'mdspec.js');
  await build({
    entryPoints: [join(root, 'scripts', 'mdspec.ts')], outfile: file,
    bundle: true, format: 'esm', platform: 'node', target: 'node20', logLevel: 'error',
    // Whitespace and syntax only: names stay, so its stack traces still read. Half its size is
    // markdown-it and its Unicode tables, which no one reads in the bundle.
    minifyWhitespace: true, minifySyntax: true,
    define: { MDSPEC_VERSION: JSON.stringify(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version) },
  });
  // The source's first line runs it through tsx; the bundle is JavaScript.
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^#!.*/, '#!/usr/bin/env node'));
  chmodSync(file, 0o755);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) await buildDist();
