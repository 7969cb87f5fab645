// `npm run bench`: every figure for mpkit on every installed runtime, beside CPython's from the
// same run (scripts/bench/reference.py) and the floor (the same work with nothing of mpkit's in
// the way). Prints one table, writes bench/results.json, and after a full run rewrites
// docs/performance.md, its chart and the README's summary.
//
//   npm run bench [-- --quick] [--only name,name] [--runtime node,bun] [--write]
import { $, fs, path } from 'zx';
import os from 'node:os';
import { commandArgs, detect, type Installed } from './mdspec/runtimes.ts';
import { RUNTIMES, type Runtime } from './mdspec/parse.ts';
import { chart } from './bench/chart.ts';

const root = path.resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const option = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const quick = argv.includes('--quick');
const only = option('--only');
const wanted = (option('--runtime')?.split(',') ?? [...RUNTIMES]) as Runtime[];
const write = argv.includes('--write') || (!quick && !only);

interface Stats { median: number; min: number; max: number; unit?: string; noisy?: boolean }
// The spread of rounds, as a share of their median, beyond which a figure is marked noisy.
const NOISY = 0.2;
interface Run { runtime: string; version: string; figures: Record<string, Stats>; floors: Record<string, Stats>; peers?: Record<string, Record<string, Stats | { error: string }>> }

/** What each figure promises (from the issues): at most this much of CPython's, of the floor, or in absolute terms. */
/** A target: at most x times CPython's, the floor's or another figure's (same run), or x units, or the floor plus x units. */
type Target = ({ of: 'cpython' | 'floor' | 'absolute' | 'floor plus'; x: number } | { of: 'figure'; figure: string; x: number }) & { atLeast?: number };
const FIGURES: Record<string, { title: string; unit: string; cpython?: string; beatPeers?: boolean; target?: Target }> = {
  thread_lock_ns: { title: 'Lock acquire + release, one thread', unit: 'ns', target: { of: 'absolute', x: 25 } },
  process_lock_ns: { title: 'Lock acquire + release, in a child process', unit: 'ns', target: { of: 'absolute', x: 25 } },
  value_locked_incr_2proc_ns: { title: 'getLock()-guarded value += 1, two processes', unit: 'ns', target: { of: 'cpython', x: 1 / 3 } },
  // The FFI rows: the same with every libc call through koffi (MPKIT_FFI=koffi), the runtime's own FFI's before.
  value_locked_incr_2proc_koffi_ns: { title: 'getLock()-guarded value += 1, two processes, libc through koffi', unit: 'ns', cpython: 'value_locked_incr_2proc_ns' },
  process_start_join_ms: { title: 'Process start + join, spawn', unit: 'ms', target: { of: 'floor', x: 1.3 } },
  // No target of its own: what a child pays for loading all of mpkit, beside CPython's spawn, whose child imports its parent's module.
  process_start_mpkit_ms: { title: 'Process start + join, spawn, target module imports mpkit', unit: 'ms', cpython: 'process_start_join_ms' },
  process_start_value_ms: { title: 'Process start + join, spawn, child sets a shared Value', unit: 'ms', cpython: 'process_start_join_ms' },
  process_start_value_koffi_ms: { title: 'Process start + join, spawn, child sets a shared Value, libc through koffi', unit: 'ms', cpython: 'process_start_join_ms' },
  thread_start_join_us: { title: 'Thread start + join, spawn', unit: 'µs', target: { of: 'floor', x: 1.2 } },
  // Warm start (issue 16): a spare booted and waiting before each start; the floor is still a bare runtime start or Worker.
  process_warm_start_join_ms: { title: 'Process start + join, warm (a spare waiting)', unit: 'ms', cpython: 'process_start_join_ms', target: { of: 'cpython', x: 0.2 } },
  thread_warm_start_join_us: { title: 'Thread start + join, warm (a spare waiting)', unit: 'µs', target: { of: 'floor', x: 0.1, atLeast: 2000 } },
  process_burst10_spawn_ms: { title: '10 processes started at once and joined, spawn', unit: 'ms', cpython: 'process_burst10_ms' },
  process_burst10_warm_ms: { title: '10 processes started at once and joined, warm (1 spare)', unit: 'ms', cpython: 'process_burst10_ms' },
  rss_spare_process_mb: { title: 'RSS of an idle spare process (warm start)', unit: 'MB', target: { of: 'absolute', x: 60 } },
  manager_list_append_us: { title: 'Manager list append from a child', unit: 'µs', target: { of: 'cpython', x: 0.5 } },
  // At least 10 times CPython's appends per second: at most a tenth of its time per append.
  manager_list_append_pipelined_us: { title: 'Manager list append, 1,000 in flight', unit: 'µs', cpython: 'manager_list_append_us', target: { of: 'cpython', x: 0.1 } },
  // 50 processes, each a client appending in turn: each call's wait, and all calls' throughput.
  manager_50_clients_p50_us: { title: 'Manager, 50 clients at once: median call', unit: 'µs' },
  manager_50_clients_p99_us: { title: 'Manager, 50 clients at once: 99th percentile call', unit: 'µs', target: { of: 'figure', figure: 'manager_50_clients_p50_us', x: 10 } },
  manager_50_clients_per_call_us: { title: 'Manager, 50 clients at once: time per call of all (1 / throughput)', unit: 'µs', target: { of: 'cpython', x: 1 } },
  // The floor is one copy of 50 MB in the same process: a request may stall others little beyond its own size's copy.
  manager_big_value_stall_ms: { title: 'Manager: longest call of 3 clients while a 4th appends a 50 MB string', unit: 'ms', target: { of: 'floor plus', x: 5 } },
  queue_msg_us: { title: 'Queue message, parent to child', unit: 'µs', target: { of: 'cpython', x: 1 } },
  pool_map_small_us: { title: 'Pool(2).map, per item', unit: 'µs', target: { of: 'cpython', x: 1 } },
  pool_apply_async_us: { title: 'Pool(2).applyAsync, per task', unit: 'µs', beatPeers: true, target: { of: 'cpython', x: 0.5 } },
  // mpkit/cluster on a redis-server on loopback (issue 18), beside the local figures CPython has too.
  cluster_list_append_us: { title: 'Cluster list append (Redis, loopback)', unit: 'µs', cpython: 'manager_list_append_us' },
  cluster_queue_msg_us: { title: 'Cluster Queue message, one connection to another', unit: 'µs', cpython: 'queue_msg_us' },
  cluster_pool_apply_async_1host_us: { title: 'Cluster Pool.applyAsync, per task, 1 worker host of 1 process', unit: 'µs', cpython: 'pool_apply_async_us' },
  cluster_pool_apply_async_2hosts_us: { title: 'Cluster Pool.applyAsync, per task, 2 worker hosts of 1 process', unit: 'µs', cpython: 'pool_apply_async_us' },
  cluster_pool_map_small_1host_us: { title: 'Cluster Pool.map, per item, 1 worker host of 1 process', unit: 'µs', cpython: 'pool_map_small_us' },
  cluster_pool_map_small_2hosts_us: { title: 'Cluster Pool.map, per item, 2 worker hosts of 1 process', unit: 'µs', cpython: 'pool_map_small_us' },
  cluster_pool_map_cpu_1host_ms: { title: 'Cluster Pool.map of 40 × 50 ms CPU, 1 worker host of 1 process', unit: 'ms' },
  // Two hosts do it at least 1.8 times as fast as one: at most 1/1.8 of its time.
  cluster_pool_map_cpu_2hosts_ms: { title: 'Cluster Pool.map of 40 × 50 ms CPU, 2 worker hosts of 1 process', unit: 'ms', target: { of: 'figure', figure: 'cluster_pool_map_cpu_1host_ms', x: 1 / 1.8 } },
  rss_process_mb: { title: 'peak RSS of a child process', unit: 'MB' },
  rss_thread_mb: { title: 'RSS added per live thread', unit: 'MB' },
  rss_manager_mb: { title: 'peak RSS of a manager server', unit: 'MB' },
  rss_pool2_mb: { title: 'peak RSS of a pool of 2 (workers)', unit: 'MB' },
};

$.cwd = root;
$.verbose = false;
const passOn = [...(quick ? ['--quick'] : []), ...(only ? ['--only', only] : [])];

async function json<T>(what: string, run: Promise<{ stdout: string; stderr: string; exitCode: number | null }>): Promise<T | null> {
  const r = await run;
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(last) as T;
  } catch {
    console.error(`${what} gave no figures (exit ${r.exitCode}):\n${r.stderr.trim().split('\n').slice(-15).join('\n')}`);
    return null;
  }
}

const started = Date.now();
// CPython and every runtime are measured in alternating rounds, each round one repeat of each in a
// fresh process, the order reversed every other round: all sides then see the machine in the same
// states, and a figure is the median of its rounds. A run of CPython first and each runtime after
// saw CPython's manager append vary from 50 to 155 µs over one day, and so every ratio with it.
const rounds = quick ? 3 : 5;
const installed: Installed[] = [];
const missing: string[] = [];
for (const rt of await detect(wanted, root)) {
  if ('bin' in rt) installed.push(rt as Installed);
  else missing.push(`${rt.name}: ${rt.reason}`);
}
type Sides = { cpython: { python: string; figures: Record<string, Stats> }[]; runs: Map<string, Run[]> };
const sides: Sides = { cpython: [], runs: new Map() };
const perRound = [...passOn, '--repeats', '1'];
for (let round = 0; round < rounds; round++) {
  const order: (Installed | 'cpython')[] = ['cpython', ...installed];
  if (round % 2) order.reverse();
  for (const side of order) {
    if (side === 'cpython') {
      console.error(`round ${round + 1}/${rounds}: CPython${quick ? ' (quick)' : ''}...`);
      const r = await json<{ python: string; figures: Record<string, Stats> }>('python3 scripts/bench/reference.py', $({ nothrow: true })`python3 scripts/bench/reference.py ${perRound}`);
      if (r) sides.cpython.push(r);
      continue;
    }
    console.error(`round ${round + 1}/${rounds}: mpkit on ${side.name} ${side.version}...`);
    const r = await json<Run>(side.name, $({ nothrow: true, timeout: quick ? '5m' : '15m' })`${side.bin} ${commandArgs(side, path.join(root, 'scripts/bench/figures.ts'))} ${perRound}`);
    if (r) sides.runs.set(side.name, [...(sides.runs.get(side.name) ?? []), { ...r, runtime: side.name, version: side.version }]);
  }
}

/** The median of the rounds' values, their range, and whether that range is over 20% of the median. */
function across(values: number[], unit?: string): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  return { median: mid, min: sorted[0], max: sorted.at(-1)!, unit, noisy: (sorted.at(-1)! - sorted[0]) / mid > NOISY };
}

function merge(each: Record<string, Stats>[]): Record<string, Stats> {
  const names = new Set(each.flatMap((r) => Object.keys(r)));
  return Object.fromEntries([...names].map((name) => {
    const values = each.flatMap((r) => (r[name] ? [r[name].median] : []));
    return [name, across(values, each.find((r) => r[name])?.[name].unit)];
  }));
}

const cpython = sides.cpython.length ? { python: sides.cpython[0].python, figures: merge(sides.cpython.map((r) => r.figures)) } : null;
const runs: Run[] = [...sides.runs.values()].map((each) => ({
  runtime: each[0].runtime,
  version: each[0].version,
  figures: merge(each.map((r) => r.figures)),
  floors: merge(each.map((r) => r.floors)),
  peers: Object.fromEntries(Object.keys(each[0].peers ?? {}).map((figure) => [figure, Object.fromEntries(
    Object.keys(each[0].peers![figure]).map((peer) => {
      const ok = each.map((r) => r.peers?.[figure]?.[peer]).filter((p): p is Stats => !!p && 'median' in p);
      return [peer, ok.length ? across(ok.map((p) => p.median)) : each[0].peers![figure][peer]];
    }))])),
}));

// --- the table ---------------------------------------------------------------------------------

const fmt = (v: number | undefined) => v === undefined || Number.isNaN(v) ? '—'
  : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(2);
const ratio = (a?: number, b?: number) => (a !== undefined && b ? `${(a / b).toFixed(2)}×` : '—');

interface Row { figure: string; title: string; unit: string; runtime: string; mpkit?: Stats; floor?: Stats; cpython?: Stats; peers: string; target: string; met: string }
const rows: Row[] = [];
for (const [figure, about] of Object.entries(FIGURES)) {
  if (only && !only.split(',').includes(figure)) continue;
  const py = cpython?.figures[about.cpython ?? figure];
  for (const run of runs) {
    const mine = run.figures[figure], floor = run.floors[figure];
    let target = '', met = '';
    if (about.target && mine) {
      const t = about.target, { x } = t;
      const other = t.of === 'figure' ? run.figures[t.figure] : undefined;
      const limit = t.of === 'absolute' ? x : t.of === 'cpython' ? (py ? py.median * x : undefined) : t.of === 'figure' ? (other ? other.median * x : undefined)
        : !floor ? undefined : t.of === 'floor plus' ? floor.median + x : floor.median * x;
      target = t.of === 'absolute' ? `≤ ${x} ${about.unit}` : t.of === 'floor plus' ? `≤ floor + ${x} ${about.unit}`
        : `≤ ${fmt(x)}× ${t.of === 'figure' ? FIGURES[t.figure]?.title.split(': ').at(-1) ?? t.figure : t.of === 'cpython' ? 'CPython' : 'floor'}`;
      if (t.atLeast !== undefined) target += ` or ${t.atLeast} ${about.unit}, whichever is larger`;
      const bound = limit === undefined ? undefined : Math.max(limit, t.atLeast ?? -Infinity);
      met = bound === undefined ? '—' : mine.median <= bound ? 'yes' : 'no';
      if (about.beatPeers) {
        target += ', and ≤ each peer';
        const peerMedians = Object.values(run.peers?.[figure] ?? {}).flatMap((p) => ('median' in p ? [p.median] : []));
        if (met === 'yes' && peerMedians.some((p) => mine.median > p)) met = 'no';
      }
    }
    const peers = Object.entries(run.peers?.[figure] ?? {}).map(([name, p]) => `${name} ${'median' in p ? fmt(p.median) : 'did not run'}`).join(', ');
    rows.push({ figure, title: about.title, unit: about.unit, runtime: `${run.runtime} ${run.version}`, mpkit: mine, floor, cpython: py, peers, target, met });
  }
}

const header = '| figure | runtime | mpkit (median) | rounds\' range | floor | CPython | peers | ÷ CPython | ÷ floor | target | met |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |';
/** min – max of the rounds, and "noisy" where that range is over 20% of the median. */
const spread = (st?: Stats) => !st ? '—' : `${fmt(st.min)} – ${fmt(st.max)}${st.noisy ? ' noisy' : ''}`;
const table = [header, ...rows.map((r) => {
  const mine = r.mpkit ? `${fmt(r.mpkit.median)} ${r.unit}` : 'not built yet';
  return `| ${r.title} | ${r.runtime} | ${mine} | ${spread(r.mpkit)} | ${fmt(r.floor?.median)}${r.floor?.noisy ? ' noisy' : ''} | ${fmt(r.cpython?.median)}${r.cpython?.noisy ? ' noisy' : ''} | ${r.peers || '—'} | ${ratio(r.mpkit?.median, r.cpython?.median)} | ${ratio(r.mpkit?.median, r.floor?.median)} | ${r.target} | ${r.met} |`;
})].join('\n');

const machine = `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`;
const when = new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
console.log(table);
console.log(`\nCPython ${cpython?.python ?? 'not measured'} · ${machine} · ${when} · ${quick ? 'quick' : 'full'} run in ${((Date.now() - started) / 1000).toFixed(0)} s`);
for (const m of missing) console.log(`not measured: ${m}`);

await fs.mkdirp(path.join(root, 'bench'));
await fs.writeJson(path.join(root, 'bench', 'results.json'), { when, machine, quick, cpython, runs, rows }, { spaces: 2 });

if (write) {
  await fs.writeFile(path.join(root, 'docs', 'performance.svg'), chart(rows.filter((r) => r.mpkit && r.cpython && r.unit !== 'MB')
    .map((r) => ({ label: r.title, series: r.runtime.split(' ')[0], value: r.mpkit!.median / r.cpython!.median }))));
  await fs.writeFile(path.join(root, 'docs', 'performance.md'), `# Performance

Written by \`npm run bench\`; do not edit by hand. Every figure is a cost per operation (lower is
better): the median of ${rounds} rounds${quick ? " (a quick run: a tenth of the counts)" : ""}, with the fastest and slowest round, marked
noisy where they lie more than ${NOISY * 100}% of the median apart. CPython's figures come from
\`scripts/bench/reference.py\`, and CPython and each runtime are measured in alternating rounds
(each round one repeat of each, in a fresh process, the order reversed every other round), so
they share the machine's state and the ratios hold even where the absolute times drift. Each
side first runs a tenth of a figure's full count untimed, and children that time a loop run 10,000 turns of it untimed first, so a short run measures code as warm as a long one does (\`npm run bench:agree\` checks that a quick run agrees with a full one). The floor is the same work with nothing of mpkit's in
the way: a bare compare-and-swap for a lock, a bare runtime start for a process, a bare \`Worker\`
for a thread. Children report ready before the clock starts and time their own loops, on both sides.

Measured on ${machine}, ${when}, with CPython ${cpython?.python ?? '(not measured)'}. To reproduce:
\`npm ci\`, then \`npm run bench\` (about ${Math.round((Date.now() - started) / 60000)} minutes here; \`-- --quick\` for a tenth of the
counts in three rounds, \`-- --only name,name\` for some figures, \`-- --runtime node,bun\` for some
runtimes), with python3 on the PATH.

${table}

![mpkit's time as a multiple of CPython's, per figure and runtime (log scale; left of the line is faster)](performance.svg)

The chart is drawn by the benchmark itself, as SVG, with no service involved:

\`\`\`ts
import { readFileSync } from 'node:fs';

const svg = readFileSync('performance.svg', 'utf8');
console.log(svg.startsWith('<svg'), svg.includes('log scale'));
\`\`\`

\`\`\`output
true true
\`\`\`
`);
  const readme = path.join(root, 'README.md');
  const text = await fs.readFile(readme, 'utf8');
  const summary = rows.filter((r) => r.target).map((r) => `| ${r.title} | ${r.runtime} | ${r.mpkit ? `${fmt(r.mpkit.median)} ${r.unit}` : 'not built yet'} | ${ratio(r.mpkit?.median, r.cpython?.median)} | ${r.target} | ${r.met} |`);
  const block = `<!-- bench:summary -->\n| figure | runtime | mpkit | ÷ CPython | target | met |\n| --- | --- | --- | --- | --- | --- |\n${summary.join('\n')}\n\nMeasured ${when} on ${machine}; the whole table is in [docs/performance.md](docs/performance.md).\n<!-- /bench:summary -->`;
  const updated = text.replace(/<!-- bench:summary -->[\s\S]*?<!-- \/bench:summary -->/, block);
  await fs.writeFile(readme, updated);
  console.error(`wrote docs/performance.md, docs/performance.svg${updated !== text ? ' and the README summary' : ''}`);
}
