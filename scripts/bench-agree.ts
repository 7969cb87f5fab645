// `npm run bench:agree`: does a quick bench say what a full one says? Runs `npm run bench` quick
// and full for a few figures (the ones that have disagreed: a manager call, a queue message, a
// start, a lock) and checks that each quick median lies within the full run's range of rounds,
// widened to ±20% of its median where the range is narrower. Prints both and exits 1 on a
// disagreement. It measures, so it is not part of npm test.
//
//   npm run bench:agree [-- --runtime node] [--only name,name]
import { $, fs, path } from 'zx';
import { parseArgs } from 'node:util';

const root = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { runtime: { type: 'string', default: 'node' }, only: { type: 'string', default: 'manager_list_append_us,queue_msg_us,process_start_join_ms,thread_lock_ns' } } });

interface Stats { median: number; min: number; max: number }
interface Results { cpython: { figures: Record<string, Stats> } | null; runs: { runtime: string; figures: Record<string, Stats> }[] }

async function bench(quick: boolean): Promise<Results> {
  $.cwd = root;
  $.verbose = false;
  console.error(`${quick ? 'quick' : 'full'} run of ${values.only} on ${values.runtime} and CPython...`);
  await $`npx tsx scripts/bench.ts ${quick ? ['--quick'] : []} --only ${values.only} --runtime ${values.runtime}`;
  return fs.readJson(path.join(root, 'bench', 'results.json')) as Promise<Results>;
}

const quick = await bench(true), full = await bench(false);
const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toPrecision(2));
let disagree = 0;
console.log('| side | figure | quick | full (rounds\' range) | agree |\n| --- | --- | --- | --- | --- |');
type Figures = Record<string, Stats> | undefined;
const sides: [string, Figures, Figures][] = [['CPython', quick.cpython?.figures, full.cpython?.figures], ...full.runs.map((r): [string, Figures, Figures] => [r.runtime, quick.runs.find((q) => q.runtime === r.runtime)?.figures, r.figures])];
for (const [side, q, f] of sides) {
  for (const name of values.only!.split(',')) {
    const a = q?.[name], b = f?.[name];
    if (!a || !b) continue;
    const low = Math.min(b.min, b.median * 0.8), high = Math.max(b.max, b.median * 1.2);
    const ok = a.median >= low && a.median <= high;
    if (!ok) disagree++;
    console.log(`| ${side} | ${name} | ${fmt(a.median)} | ${fmt(b.median)} (${fmt(b.min)} – ${fmt(b.max)}) | ${ok ? 'yes' : 'no'} |`);
  }
}
console.log(`\n${disagree ? `${disagree} figure(s) disagree` : 'the quick run agrees with the full one'}`);
process.exitCode = disagree ? 1 : 0;
