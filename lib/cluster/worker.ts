// A worker host: `mpkit worker` (cli.ts), or serveWorker() in a program. It runs a local mp.Pool
// of N processes and takes tasks from the pool's stream only while it has a process free, so the
// stream's consumer group spreads work by who is free, not by turns. It renews its claim on the
// tasks it runs every third of the lease; a host that dies (or stalls past the lease) stops
// renewing, and the next host with a free process takes its tasks over (XAUTOCLAIM). A task taken
// over MAX_RUNS times has killed every host that ran it: it fails rather than kill the next.
import { Pool } from '../pool.ts';
import { errorData } from '../remote.ts';
import { builtin } from '../platform/builtins.ts';
import { cpuCount } from '../context.ts';
import { pack, unpack } from './codec.ts';
import { Link, token } from './link.ts';
import { Script } from './object.ts';
import { GROUP, poolKeys, type Fields } from './streams.ts';

export interface WorkerOptions {
  /** The Redis the pool's callers use. */
  url: string;
  /** The module whose exports the tasks name, as on the callers' side. */
  module: string | URL;
  /** Local worker processes (default: the CPU count). */
  processes?: number;
  namespace?: string;
  /** The pool served (a caller's `Pool({ name })`; default "default"). */
  pool?: string;
  /** Seconds a task stays claimed by this host without renewal (default 10): how long a dead host's tasks wait. */
  lease?: number;
}

const MAX_RUNS = 3;
// How long (ms) a result stream outlives its last result, should its caller never come to read it.
const RESULTS_TTL_MS = 600_000;

// The host's entry for callers' chunk sizes: its processes, and until when (server clock) it counts.
const ANNOUNCE = new Script(`local t = redis.call('TIME')
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({processes = tonumber(ARGV[2]), host = ARGV[3], expires = tonumber(t[1]) * 1000 + math.max(3 * tonumber(ARGV[4]), 10000)}))
return 1`);

export class WorkerHost {
  readonly consumer: string;
  readonly processes: number;
  readonly pool: string;
  readonly #link: Link;
  readonly #keys: ReturnType<typeof poolKeys>;
  readonly #local: Pool;
  readonly #leaseMs: number;
  readonly #running = new Map<string, Promise<void>>();
  #stopping = false;
  #loop: Promise<void> = Promise.resolve();
  #beat: ReturnType<typeof setInterval> | null = null;
  #claimed = -Infinity; // when #takeOver last ran

  constructor(link: Link, options: WorkerOptions) {
    const { processes = cpuCount(), pool = 'default', lease = 10 } = options;
    if (!Number.isInteger(processes) || processes < 1) throw new RangeError(`A worker host needs at least 1 process, not ${processes}`);
    if (typeof lease !== 'number' || !(lease >= 0.3)) throw new RangeError(`A lease is a number of seconds, at least 0.3, not ${lease}`);
    this.#link = link;
    this.pool = pool;
    this.#keys = poolKeys(link, pool);
    this.processes = processes;
    this.#leaseMs = Math.round(lease * 1000);
    this.consumer = `${builtin('node:os').hostname()}:${process.pid}:${token().slice(0, 8)}`;
    this.#local = new Pool(processes, { module: options.module });
  }

  async start(): Promise<void> {
    const r = this.#link.main;
    await r.xgroup('CREATE', this.#keys.tasks, GROUP, '0', 'MKSTREAM').catch((e: Error) => { if (!/BUSYGROUP/.test(e.message)) throw e; });
    await this.#heartbeat();
    this.#beat = setInterval(() => void this.#heartbeat(), this.#leaseMs / 3);
    this.#loop = this.#serve();
  }

  // Renews this host's claim on the tasks it runs (XCLAIM to itself resets their idle time) and its entry.
  async #heartbeat() {
    const r = this.#link.main, ids = [...this.#running.keys()];
    try {
      if (ids.length) await r.xclaim(this.#keys.tasks, GROUP, this.consumer, 0, ...ids, 'JUSTID');
      await ANNOUNCE.run(r, [this.#keys.hosts], [this.consumer, this.processes, builtin('node:os').hostname(), this.#leaseMs]);
    } catch { /* Redis away: the next beat tries again, and the lease covers the gap */ }
  }

  async #serve() {
    while (!this.#stopping) {
      const free = this.processes - this.#running.size;
      if (free <= 0) { await Promise.race(this.#running.values()); continue; }
      // Dead hosts' tasks are looked for every third of a lease, not before every take: it costs a round trip.
      let entries: [string, Buffer[]][] = [];
      if (performance.now() - this.#claimed >= this.#leaseMs / 3) {
        this.#claimed = performance.now();
        entries = await this.#takeOver(free);
      }
      if (!entries.length) {
        const got = await this.#link.blocking((r) => r.xreadgroupBuffer('GROUP', GROUP, this.consumer, 'COUNT', free, 'BLOCK', 1000, 'STREAMS', this.#keys.tasks, '>')) as [Buffer, [Buffer, Buffer[]][]][] | null;
        entries = (got?.[0]?.[1] ?? []).map(([id, flat]) => [String(id), flat]);
      }
      for (const [id, flat] of entries) {
        const run = this.#run(id, flat).catch((e) => console.error(`mpkit worker: task ${id} could not be answered:`, e)).finally(() => this.#running.delete(id));
        this.#running.set(id, run);
      }
    }
  }

  // Tasks of hosts that stopped renewing, taken over; those already run MAX_RUNS times fail instead.
  async #takeOver(free: number): Promise<[string, Buffer[]][]> {
    const r = this.#link.main;
    const [, claimed] = await r.callBuffer('XAUTOCLAIM', this.#keys.tasks, GROUP, this.consumer, this.#leaseMs, '0-0', 'COUNT', free) as [Buffer, [Buffer, Buffer[] | null][]];
    const out: [string, Buffer[]][] = [];
    for (const [idBytes, flat] of claimed) {
      const id = String(idBytes);
      if (!flat) continue; // deleted while pending: a dropped task
      const [[, , , runs]] = await r.xpending(this.#keys.tasks, GROUP, 'IDLE', 0, id, id, 1) as [string, string, number, number][];
      if (runs > MAX_RUNS) {
        const f = fields(flat);
        await this.#answer(id, f, false, pack(errorData(Object.assign(new Error(`Worker hosts died or stalled ${MAX_RUNS} times while running this task (${f.f}): it is not run again`), { name: 'WorkerDiedError' }))));
        continue;
      }
      out.push([id, flat]);
    }
    return out;
  }

  async #run(id: string, flat: Buffer[]) {
    const f = fields(flat), keys = poolKeys(this.#link, this.pool, f.c), r = this.#link.main;
    const [[, alive], [, dropped]] = (await r.pipeline().exists(keys.alive).sismember(keys.dropped, f.t).exec())! as [unknown, number][];
    if (!alive || dropped) {
      await r.multi().xack(this.#keys.tasks, GROUP, id).xdel(this.#keys.tasks, id).exec();
      return;
    }
    let ok = true, value: Buffer;
    try {
      const inputs = unpack(f.a, () => { throw new TypeError('A cluster object in a pool task needs a cluster connection on the host: send its name instead'); }) as unknown[];
      const results = f.s === '1'
        ? await this.#local.starmap(f.f as never, inputs as unknown[][], { chunksize: inputs.length })
        : await this.#local.map(f.f as never, inputs, { chunksize: inputs.length });
      value = pack(results, `the results of ${f.f}`);
    } catch (e) {
      ok = false;
      value = pack(errorData(e));
    }
    await this.#answer(id, f, ok, value);
  }

  // The result and the task's end in one transaction: a host that dies in between leaves neither.
  async #answer(id: string, f: Fields, ok: boolean, value: Buffer) {
    const keys = poolKeys(this.#link, this.pool, f.c);
    await this.#link.main.multi()
      .xadd(keys.results, '*', 't', f.t, 'ok', ok ? '1' : '0', 'v', value, 'h', this.consumer)
      .pexpire(keys.results, RESULTS_TTL_MS)
      .xack(this.#keys.tasks, GROUP, id)
      .xdel(this.#keys.tasks, id)
      .exec();
  }

  /** Takes no more tasks, finishes those it runs, and ends its processes and connections. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#loop.catch(() => {});
    await Promise.all(this.#running.values());
    if (this.#beat) clearInterval(this.#beat);
    this.#local.close();
    await this.#local.join();
    await this.#link.main.hdel(this.#keys.hosts, this.consumer).catch(() => {});
    await this.#link.main.xgroup('DELCONSUMER', this.#keys.tasks, GROUP, this.consumer).catch(() => {});
    this.#link.close();
  }

  /** Resolves if the loop that takes tasks ends (stop(), or Redis lost for good). */
  get served(): Promise<void> { return this.#loop; }
}

function fields(flat: Buffer[]): Fields {
  const f: Record<string, Buffer> = {};
  for (let i = 0; i < flat.length; i += 2) f[String(flat[i])] = flat[i + 1];
  return { c: String(f.c), t: String(f.t), f: String(f.f), s: String(f.s), a: f.a };
}

/** Starts a worker host serving a cluster pool; `await host.stop()` ends it. */
export async function serveWorker(options: WorkerOptions): Promise<WorkerHost> {
  const link = await Link.connect(options.url, { namespace: options.namespace });
  try {
    const host = new WorkerHost(link, options);
    await host.start();
    return host;
  } catch (e) {
    link.close();
    throw e;
  }
}
