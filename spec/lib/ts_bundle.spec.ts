import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundledModule } from '../../lib/platform/ts_bundle.ts';

// A Node that cannot strip types imports a child's TypeScript target from a bundle (see
// threads-and-processes.md, where children do so). The bundle itself is the same on every runtime,
// so it is checked on each: made once asked for, the same program as the files, and made again
// when one of them changes.

/** The bundle's URL, once made: the first asks start it. */
async function bundled(url: string, seconds = 20): Promise<string | null> {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const made = bundledModule(url, []);
    if (made || Date.now() > end) return made;
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a bundle is the same program as its files: each keeps its import.meta.url, a package is the same module', async () => {
  const entry = new URL('../fixtures/bundle/entry.ts', import.meta.url).href;
  const url = await bundled(entry);
  assert.ok(url, 'a bundle was made');
  assert.ok(url!.endsWith('.mjs') && url !== entry);
  const mod = await import(url!) as typeof import('../fixtures/bundle/entry.ts');
  assert.is(mod.where, entry);
  assert.is(mod.helperWhere(), new URL('../fixtures/bundle/helper.ts', import.meta.url).href);
  assert.is(mod.run(21), 'entry.ts 42');
  assert.is(mod.packageModule(), assert, 'the package is imported from its own file, not copied in');
  assert.ok(!readFileSync(new URL(url!), 'utf8').includes('function equal('), 'no package code inside');
});

test('no bundle for an import() of a computed path or a pattern: the hooks read those', async () => {
  for (const name of ['computed', 'pattern']) {
    assert.is(await bundled(new URL(`../fixtures/bundle/${name}.ts`, import.meta.url).href, 3), null, name);
  }
});

test('a changed file makes a new bundle', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mpkit-bundle-spec-'));
  try {
    const file = join(dir, 'job.ts'), part = join(dir, 'part.ts');
    writeFileSync(file, "import { n } from './part.ts';\nexport const value = (): number => n;\n");
    writeFileSync(part, 'export const n: number = 1;\n');
    const url = pathToFileURL(file).href;
    const first = await bundled(url);
    assert.is((await import(first!)).value(), 1);
    await new Promise((r) => setTimeout(r, 20)); // a later mtime
    writeFileSync(part, 'export const n: number = 22;\n');
    assert.is(bundledModule(url, []), null, 'stale: the hooks read it while a new one is made');
    const second = await bundled(url);
    // Read, not imported: a module is imported once per process, and a child is a new one.
    assert.match(readFileSync(new URL(second!), 'utf8'), /\bn = 22\b/);
    // This folder will not be seen again: its bundle and the manifest beside it go too.
    for (const made of [second!, second!.replace(/\.mjs$/, '.json')]) rmSync(new URL(made), { force: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});


test('Nodes of two majors sharing the cache each read code lowered for themselves (await using on Node 20)', async () => {
  const { execFileSync } = await import('node:child_process');
  const newer = new URL('../../node_modules/node26/bin/node', import.meta.url).pathname; // a Node whose transform keeps await using
  const node20 = '/usr/bin/node';
  const { existsSync } = await import('node:fs');
  if (!existsSync(newer) || !existsSync(node20) || !execFileSync(node20, ['--version'], { encoding: 'utf8' }).startsWith('v20')) return; // needs both, as this repository has them
  const dir = mkdtempSync(join(tmpdir(), 'two-majors-'));
  try {
    const file = join(dir, 'disposing.ts');
    writeFileSync(file, 'export async function run(): Promise<string> {\n  await using _x = { async [Symbol.asyncDispose]() {} };\n  return "ran";\n}\n');
    const loader = new URL('../../lib/platform/ts_register.mjs', import.meta.url).href;
    const code = `import(${JSON.stringify(pathToFileURL(file).href)}).then(async (m) => console.log(await m.run()))`;
    // Node 26 first, whose transform keeps await using; then Node 20, which must not be handed that.
    for (const bin of [newer, node20]) assert.is(execFileSync(bin, ['--import', loader, '-e', code], { encoding: 'utf8' }).trim(), 'ran');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
