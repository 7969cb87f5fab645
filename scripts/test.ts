// `npm test`: build dist/, type-check, the uvu specs, every doc on every runtime, then coverage of
// lib/ from the specs. Ends with one line counting all of it: `N passed, N failed`.
import { $, fs, path, type ProcessPromise } from 'zx';
import { commandArgs, detect } from './mdspec/runtimes.ts';
import { buildDist } from './build.ts';

const root = path.resolve(import.meta.dirname, '..');
const coverage = path.join(root, 'coverage', 'tmp');
const MIN_LINES = 90;
const totals = { passed: 0, failed: 0, skipped: 0 };
const failures: string[] = [];
const notRun = new Set<string>(); // specs that could not run here, each with its reason (a line `... not run: why`)

$.cwd = root;
$.verbose = false;

function count(what: string, passed: number, failed: number, skipped = 0) {
  totals.passed += passed;
  totals.failed += failed;
  totals.skipped += skipped;
  if (failed) failures.push(`${what}: ${failed} failed`);
}

// No step takes a third of this on a loaded 2-core machine: one that does has hung, and is ended
// and counted as a failure, so CI reports it rather than waiting for ever.
const STEP_TIMEOUT = '20m';

/** Runs a command with its output shown as it comes, and returns the output as text. */
async function shown(pieces: TemplateStringsArray, ...args: unknown[]) {
  return watched($({ nothrow: true, quiet: true, timeout: STEP_TIMEOUT })(pieces, ...args));
}

/** The same, with V8 coverage of everything it starts written to coverage/tmp. */
async function covered(pieces: TemplateStringsArray, ...args: unknown[]) {
  return watched($({ nothrow: true, quiet: true, timeout: STEP_TIMEOUT, env: { ...process.env, NODE_V8_COVERAGE: coverage } })(pieces, ...args));
}

async function watched(p: ProcessPromise) {
  p.stdout.on('data', (b: Buffer) => process.stdout.write(b));
  p.stderr.on('data', (b: Buffer) => process.stderr.write(b));
  const r = await p;
  if (r.signal) console.log(`✗ ended by ${r.signal} after ${STEP_TIMEOUT}: it hung`);
  return { code: r.exitCode ?? 1, out: r.stdout.replace(/\x1b\[[0-9;]*m/g, '') };
}

const [node] = await detect(['node'], root);
if (!('bin' in node)) throw new Error(node.reason);
await fs.rm(path.join(root, 'coverage'), { recursive: true, force: true });

// Specs and docs import the package by name, so they run dist/ (what users get), built afresh.
console.log('— build');
try {
  await buildDist();
  count('build', 1, 0);
} catch (e) {
  console.error(e);
  count('build', 0, 1); // what follows then runs an older dist/, or none: read its failures with that in mind
}

console.log('— type-check');
const types = await shown`${path.join(root, 'node_modules', '.bin', 'tsc')} -p ${root}`;
count('type-check', types.code === 0 ? 1 : 0, types.code === 0 ? 0 : 1);

const uvu = path.join(root, 'node_modules', 'uvu', 'bin.js');
/** Runs uvu on `dir` and counts what it reports. */
async function specs(what: string, bin: string, args: string[], dir: string, pattern = '\\.spec\\.ts$', withCoverage = false) {
  const r = withCoverage ? await covered`${bin} ${args} ${dir} ${pattern}` : await shown`${bin} ${args} ${dir} ${pattern}`;
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(r.out)?.[1] ?? 0);
  const ran = field('Total'), passed = field('Passed'), skipped = field('Skipped');
  for (const m of r.out.matchAll(/^(.+ not run: .+)$/gm)) notRun.add(`${m[1]} (${what})`);
  // uvu stops counting at a crashed file; a non-zero exit with nothing failed still counts as one failure.
  count(what, passed, Math.max(ran - passed - skipped, r.code !== 0 && ran === passed + skipped ? 1 : 0), skipped);
}

console.log('— mdspec specs on node');
await specs('mdspec specs', node.bin, commandArgs(node, uvu), 'spec', '^[a-z]+\\.spec\\.ts$');
console.log(`— spec/lib on node ${node.version}, with coverage`);
// Coverage of lib/ comes from its specs, run on the sources (the package's "mpkit-source" export
// condition, which children inherit with the other flags) rather than the bundle, and read through
// mpkit's own TypeScript loader: a file loaded through two transpilers (tsx in a parent, the loader
// in its children) cannot be merged. Every other runtime runs the specs on dist/.
const loader = path.join(root, 'lib', 'platform', 'ts_register.mjs');
await specs('spec/lib on node', node.bin, ['--conditions=mpkit-source', '--import', loader, uvu], 'spec/lib', undefined, true);
// mdspec's own specs drive the runner from Node; the library's run on every runtime.
for (const rt of await detect(['node24', 'node26', 'deno', 'bun'], root)) {
  if (!('bin' in rt)) {
    console.log(`— spec/lib on ${rt.name}: skipped, ${rt.reason}`);
    count(`spec/lib on ${rt.name}`, 0, 0, 1);
    continue;
  }
  console.log(`— spec/lib on ${rt.name} ${rt.version}`);
  await specs(`spec/lib on ${rt.name}`, rt.bin, commandArgs(rt, uvu), 'spec/lib');
}

console.log('— docs');
const docs = await shown`${node.bin} --import tsx ${path.join(root, 'scripts', 'mdspec.ts')} docs README.md`;
const line = /(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$/.exec(docs.out);
if (line) count('docs', Number(line[1]), Number(line[2]), Number(line[3] ?? 0));
else count('docs', 0, 1);

console.log('— coverage of lib/');
const c8 = await shown`${path.join(root, 'node_modules', '.bin', 'c8')} report --temp-directory ${coverage} --include ${'lib/**'} --exclude-after-remap --reporter text --reporter text-summary --check-coverage --lines ${MIN_LINES}`;
count(`coverage under ${MIN_LINES}% of lines`, c8.code === 0 ? 1 : 0, c8.code === 0 ? 0 : 1);

for (const f of notRun) console.log(`- ${f}`);
for (const f of failures) console.log(`✗ ${f}`);
console.log(`${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
process.exitCode = totals.failed ? 1 : 0;
