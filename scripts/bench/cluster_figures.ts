// The cluster's figures for `npm run bench` (issue 18), measured against a redis-server started here
// on loopback, with worker hosts started as users start them (`mpkit worker`, on this runtime).
// Each is beside the local figure CPython also has: a Redis list append beside a manager's, a
// cluster Queue message beside a local one, the cluster Pool beside mp.Pool. The floor of an append
// is the same RPUSH through ioredis with nothing of mpkit's around it.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'mpkit/cluster';
import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../../spec/fixtures/redis.ts';

type Measure = (n: number) => number | Promise<number>;
export interface ClusterFigure { count: number; mpkit: Measure; floor?: Measure }

export function echo<T>(x: T): T { return x; }
/** CPU-bound for `ms` milliseconds. */
export function spin(ms: number): number {
  const end = Date.now() + ms;
  let i = 0;
  while (Date.now() < end) i++;
  return i;
}

let server: RedisServer | null = null;
let spaces = 0;
const redis = async () => (server ??= await startRedis());

const g = globalThis as { Deno?: unknown; Bun?: unknown };
const cli = join(dirname(fileURLToPath(import.meta.resolve('mpkit/package.json'))), 'dist', 'cli.js');
const self = fileURLToPath(import.meta.url);

// Worker hosts by count, started once per run of this file: a host's start (a runtime and its
// pool's process, 1 to 3 s) is not what the pool figures measure.
const fleets = new Map<number, Promise<{ ns: string; children: ChildProcess[] }>>();

/** `count` worker hosts of one process each, serving a namespace of their own; started on first use. */
function hosts(count: number) {
  let fleet = fleets.get(count);
  if (!fleet) fleets.set(count, (fleet = (async () => {
    const { url } = await redis();
    const ns = `bench${++spaces}`;
    const children = await Promise.all(Array.from({ length: count }, () => new Promise<ChildProcess>((resolve, reject) => {
      const child = spawn(process.execPath, [...(g.Deno ? ['run', '-A'] : g.Bun ? [] : process.execArgv), cli, 'worker', '--url', url, '--module', self, '--processes', '1', '--namespace', ns], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (d) => { err += d; if (err.includes('serving pool')) resolve(child); });
      child.once('exit', (code) => reject(new Error(`mpkit worker exited with ${code}: ${err}`)));
    })));
    return { ns, children };
  })()));
  return fleet;
}

/** Stops the worker hosts and the redis-server, if they were started. */
export async function stopRedis() {
  for (const fleet of fleets.values()) {
    const { children } = await fleet;
    await Promise.all(children.map((c) => new Promise((r) => { c.once('exit', r); c.kill('SIGTERM'); })));
  }
  fleets.clear();
  await server?.stop();
  server = null;
}

async function pooled(count: number, work: (pool: ReturnType<Awaited<ReturnType<typeof connect>>['Pool']>) => Promise<number>): Promise<number> {
  const { ns } = await hosts(count);
  await using cluster = await connect((await redis()).url, { namespace: ns });
  await using pool = cluster.Pool();
  await pool.map(echo, Array.from({ length: 100 }, (_, i) => i), { chunksize: 1 }); // hosts' processes up and warm
  return await work(pool); // awaited here: a returned promise would outlive the pool disposed at this scope's end
}

const applyAsync = (count: number) => (n: number) => pooled(count, async (pool) => {
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, (_, i) => pool.applyAsync(echo, [i])));
  return ((performance.now() - t0) / n) * 1000;
});

const mapSmall = (count: number) => (n: number) => pooled(count, async (pool) => {
  const items = Array.from({ length: n }, (_, i) => i);
  const t0 = performance.now();
  await pool.map(echo, items);
  return ((performance.now() - t0) / n) * 1000;
});

// 40 items of 50 ms of CPU each, one per task: 2 s of work, which 2 hosts on 2 cores should halve.
const mapCpu = (count: number) => () => pooled(count, async (pool) => {
  const t0 = performance.now();
  await pool.map(spin, Array.from({ length: 40 }, () => 50), { chunksize: 1 });
  return performance.now() - t0;
});

export const CLUSTER_FIGURES: Record<string, ClusterFigure> = {
  cluster_list_append_us: {
    count: 20_000,
    async mpkit(n) {
      const { url } = await redis();
      await using cluster = await connect(url, { namespace: `bench${++spaces}` });
      const list = cluster.list<number>('appends');
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await list.append(i);
      const us = ((performance.now() - t0) / n) * 1000;
      await list.clear();
      return us;
    },
    async floor(n) {
      const { port } = await redis();
      const r = new Redis({ host: '127.0.0.1', port });
      const bytes = Buffer.from([1]);
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await r.rpush('floor', bytes);
      const us = ((performance.now() - t0) / n) * 1000;
      await r.del('floor');
      r.disconnect();
      return us;
    },
  },
  cluster_queue_msg_us: {
    count: 20_000,
    async mpkit(n) {
      const { url } = await redis();
      const ns = `bench${++spaces}`;
      await using a = await connect(url, { namespace: ns });
      await using b = await connect(url, { namespace: ns });
      const put = a.Queue<number>('q'), get = b.Queue<number>('q');
      const t0 = performance.now();
      const drained = (async () => { for (let i = 0; i < n; i++) await get.get({ timeout: 60 }); })();
      for (let i = 0; i < n; i++) await put.put(i);
      await drained;
      return ((performance.now() - t0) / n) * 1000;
    },
  },
  cluster_pool_apply_async_1host_us: { count: 2_000, mpkit: applyAsync(1) },
  cluster_pool_apply_async_2hosts_us: { count: 2_000, mpkit: applyAsync(2) },
  cluster_pool_map_small_1host_us: { count: 200_000, mpkit: mapSmall(1) },
  cluster_pool_map_small_2hosts_us: { count: 200_000, mpkit: mapSmall(2) },
  cluster_pool_map_cpu_1host_ms: { count: 1, mpkit: mapCpu(1) },
  cluster_pool_map_cpu_2hosts_ms: { count: 1, mpkit: mapCpu(2) },
};
