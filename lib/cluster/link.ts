// One program's connections to a Redis server: one for plain commands, and one more for each wait
// in flight (a blocking command holds its connection until it returns), kept for reuse. A
// connection keeps the program alive only while it has a command out, as mp.Manager's do, so a
// program that forgets close() still ends when its work is done.
import type { Redis, RedisOptions } from 'ioredis';

export interface ConnectOptions {
  /** Keeps two programs (or two test runs) on one Redis apart: every key starts `mpkit:{namespace}:`. */
  namespace?: string;
  /** Seconds to wait for the server before connect() gives up (default 10). */
  connectTimeout?: number;
}

// Connections for waits kept open once their wait is over, for the next one; more are closed.
const IDLE_KEPT = 8;

// How many times a lost connection is tried again (about 5 s in all) before its commands fail.
const RECONNECTS = 20;

type Ioredis = typeof import('ioredis').Redis;
let loaded: Ioredis | null = null;

// ioredis loads on the first connect(), so programs that never use the cluster never load it.
async function ioredis(): Promise<Ioredis> {
  return (loaded ??= (await import('ioredis')).Redis);
}

/** The options ioredis takes for a `redis://`, `rediss://` or `unix://` address. */
export function parseUrl(url: string): RedisOptions {
  let u: URL;
  try { u = new URL(url); } catch { throw new TypeError(`${JSON.stringify(url)} is not a Redis address: give redis://host:port, rediss://host:port or unix:///path/to/redis.sock`); }
  const db = Number(u.searchParams.get('db') ?? (u.pathname.length > 1 && u.protocol !== 'unix:' ? u.pathname.slice(1) : 0));
  if (!Number.isInteger(db) || db < 0) throw new TypeError(`The database in ${url} is a whole number, not ${JSON.stringify(u.searchParams.get('db') ?? u.pathname.slice(1))}`);
  const auth = { username: decodeURIComponent(u.username) || undefined, password: decodeURIComponent(u.password) || undefined };
  if (u.protocol === 'unix:') return { path: u.pathname, db, ...auth };
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new TypeError(`${JSON.stringify(url)} is not a Redis address: give redis://host:port, rediss://host:port or unix:///path/to/redis.sock`);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 6379), db, ...auth, ...(u.protocol === 'rediss:' ? { tls: {} } : {}) };
}

type Counted = Redis & { out: number; keep(delta: number): void };

/** Counts the commands out on a connection, and lets its socket keep the program alive only then. */
function counted(redis: Redis): Counted {
  const r = Object.assign(redis, { out: 0, keep: (delta: number) => { const was = r.out; r.out += delta; if ((was > 0) !== (r.out > 0)) apply(); } });
  // A socket still connecting stays referenced (it waits once per call otherwise); 'connect' applies the count.
  const apply = () => {
    const s = r.stream as { ref?(): void; unref?(): void; connecting?: boolean } | undefined;
    if (!s || s.connecting || (s as { destroyed?: boolean }).destroyed) return;
    if (r.out > 0) s.ref?.(); else s.unref?.();
  };
  r.on('connect', apply);
  const send = r.sendCommand.bind(r);
  r.sendCommand = ((command: { promise: Promise<unknown> }, stream?: unknown) => {
    r.keep(1);
    const done = () => r.keep(-1);
    command.promise.then(done, done);
    return send(command as never, stream as never);
  }) as Redis['sendCommand'];
  return r;
}

export class Link {
  readonly url: string;
  readonly prefix: string;
  readonly main: Redis;
  #options: RedisOptions;
  #Redis: Ioredis;
  #idle: Redis[] = [];
  #all = new Set<Redis>();
  #closed = false;

  private constructor(url: string, prefix: string, Redis: Ioredis, options: RedisOptions) {
    this.url = url;
    this.prefix = prefix;
    this.#Redis = Redis;
    this.#options = options;
    this.main = this.#open(true);
  }

  static async connect(url: string, { namespace = 'default', connectTimeout = 10 }: ConnectOptions = {}): Promise<Link> {
    if (typeof namespace !== 'string' || !/^[\w.-]{1,100}$/.test(namespace)) throw new TypeError(`A namespace is 1 to 100 letters, digits, '_', '.' or '-', not ${JSON.stringify(namespace)}`);
    const options: RedisOptions = {
      ...parseUrl(url), connectTimeout: connectTimeout * 1000, lazyConnect: true, enableReadyCheck: true,
      retryStrategy: (n) => (n > RECONNECTS ? null : Math.min(50 * n, 500)),
    };
    const link = new Link(url, `mpkit:${namespace}:`, await ioredis(), options);
    try {
      await link.main.connect();
    } catch (e) {
      link.close();
      throw new Error(`Could not reach Redis at ${url} (${(e as Error).message}): start redis-server there, or give the address it listens on`, { cause: e });
    }
    return link;
  }

  #open(lazyConnect = false): Counted {
    const r = counted(new this.#Redis({ ...this.#options, lazyConnect, maxRetriesPerRequest: 3 }));
    r.on('error', () => {}); // each failed command rejects with the error; the connection retries alone
    this.#all.add(r);
    return r;
  }

  key(...parts: string[]): string {
    return this.prefix + parts.join(':');
  }

  /**
   * Runs `wait` on a connection of its own (a blocking command holds it until it returns). An
   * abort drops that connection, which ends the command in Redis too.
   */
  async blocking<T>(wait: (r: Redis) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.#closed) throw new Error('This cluster connection is closed: connect again');
    signal?.throwIfAborted();
    const r = this.#idle.pop() ?? this.#open();
    let aborted = false;
    const abort = () => { aborted = true; this.#drop(r); };
    signal?.addEventListener('abort', abort, { once: true });
    try {
      const v = await wait(r);
      signal?.throwIfAborted();
      return v;
    } catch (e) {
      if (aborted) signal!.throwIfAborted();
      throw e;
    } finally {
      signal?.removeEventListener('abort', abort);
      if (!aborted && r.status === 'ready' && !this.#closed && this.#idle.length < IDLE_KEPT) this.#idle.push(r);
      else this.#drop(r);
    }
  }

  #drop(r: Redis) {
    this.#all.delete(r);
    r.disconnect();
  }

  #sub: Counted | null = null;
  #heard = new Map<string, { each: Set<() => void>; subscribed: Promise<unknown> }>();

  /**
   * Calls `heard` on each message to `channel` until the returned function is called; resolves
   * once subscribed. While anyone listens, the program stays alive, as a waiting thread keeps it.
   */
  async listen(channel: string, heard: () => void): Promise<() => void> {
    if (this.#closed) throw new Error('This cluster connection is closed: connect again');
    if (!this.#sub) {
      const sub = this.#sub = this.#open();
      sub.on('message', (ch: string) => { for (const f of this.#heard.get(ch)?.each ?? []) f(); });
    }
    const sub = this.#sub;
    let entry = this.#heard.get(channel);
    if (!entry) this.#heard.set(channel, (entry = { each: new Set(), subscribed: sub.subscribe(channel) }));
    const set = entry.each;
    set.add(heard);
    sub.keep(1);
    await entry.subscribed;
    return () => {
      if (!set.delete(heard)) return;
      sub.keep(-1);
      if (set.size === 0 && this.#heard.get(channel) === entry) {
        this.#heard.delete(channel);
        if (sub.status === 'ready') sub.unsubscribe(channel).catch(() => {});
      }
    };
  }

  get closed(): boolean { return this.#closed; }

  close(): void {
    this.#closed = true;
    for (const r of this.#all) r.disconnect();
    this.#all.clear();
    this.#idle = [];
  }
}

/** A random token: a lease holder's, a consumer's. */
export function token(): string {
  return crypto.randomUUID();
}
