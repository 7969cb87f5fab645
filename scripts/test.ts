// `npm test`: type-check, the uvu specs, every doc on every runtime, then coverage of lib/ from the
// specs and the Node doc runs. Ends with one line counting all of it: `N passed, N failed`.
import { $, fs, path } from 'zx';
import { detect } from './mdspec/runtimes.ts';

const root = path.resolve(import.meta.dirname, '..');
const coverage = path.join(root, 'coverage', 'tmp');
const MIN_LINES = 90;
const totals = { passed: 0, failed: 0, skipped: 0 };
const failures: string[] = [];

$.cwd = root;
$.verbose = false;

function count(what: string, passed: number, failed: number, skipped = 0) {
  totals.passed += passed;
  totals.failed += failed;
  totals.skipped += skipped;
  if (failed) failures.push(`${what}: ${failed} failed`);
}

/** Runs a command with its output shown as it comes, and returns the output as text. */
async function shown(pieces: TemplateStringsArray, ...args: unknown[]) {
  const p = $({ nothrow: true, env: { ...process.env, NODE_V8_COVERAGE: coverage } })(pieces, ...args);
  p.stdout.on('data', (b: Buffer) => process.stdout.write(b));
  p.stderr.on('data', (b: Buffer) => process.stderr.write(b));
  const r = await p;
  return { code: r.exitCode ?? 1, out: r.stdout.replace(/\x1b\[[0-9;]*m/g, '') };
}

const [node] = await detect(['node'], root);
if (!('bin' in node)) throw new Error(node.reason);
await fs.rm(path.join(root, 'coverage'), { recursive: true, force: true });

console.log('— type-check');
const types = await shown`${path.join(root, 'node_modules', '.bin', 'tsc')} -p ${root}`;
count('type-check', types.code === 0 ? 1 : 0, types.code === 0 ? 0 : 1);

console.log('— specs');
const specs = await shown`${node.bin} --import tsx ${path.join(root, 'node_modules', 'uvu', 'bin.js')} spec ${'\\.spec\\.ts$'}`;
const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(specs.out)?.[1] ?? 0);
const ran = field('Total'), passed = field('Passed'), skippedSpecs = field('Skipped');
// uvu stops counting at a crashed file; a non-zero exit with nothing failed still counts as one failure.
count('specs', passed, Math.max(ran - passed - skippedSpecs, specs.code !== 0 && ran === passed + skippedSpecs ? 1 : 0), skippedSpecs);

console.log('— docs');
const docs = await shown`${node.bin} --import tsx ${path.join(root, 'scripts', 'mdspec.ts')} docs README.md`;
const line = /(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$/.exec(docs.out);
if (line) count('docs', Number(line[1]), Number(line[2]), Number(line[3] ?? 0));
else count('docs', 0, 1);

console.log('— coverage of lib/');
const c8 = await shown`${path.join(root, 'node_modules', '.bin', 'c8')} report --temp-directory ${coverage} --include ${'lib/**'} --exclude-after-remap --reporter text --reporter text-summary --check-coverage --lines ${MIN_LINES}`;
count(`coverage under ${MIN_LINES}% of lines`, c8.code === 0 ? 1 : 0, c8.code === 0 ? 0 : 1);

for (const f of failures) console.log(`✗ ${f}`);
console.log(`${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
process.exitCode = totals.failed ? 1 : 0;
