// connect(): one program's handle on a Redis server and a namespace in it, and the factories of
// the shared types. Hosts that connect to the same address and namespace, and name an object
// alike, share it; nothing else is shared between them.
import type { Named } from './codec.ts';
import { ClusterDict } from './dict.ts';
import { ClusterLock, ClusterSemaphore, type LeaseOptions } from './lease.ts';
import { Link, type ConnectOptions } from './link.ts';
import { ClusterList } from './list.ts';
import { ClusterJoinableQueue, ClusterQueue } from './queue.ts';
import { ClusterEvent, ClusterValue } from './value.ts';
import { ClusterPool, type ClusterPoolOptions } from './pool.ts';

export class Cluster implements AsyncDisposable {
  readonly #link: Link;
  readonly #revive = (n: Named): unknown => this.#named(n);

  constructor(link: Link) { this.#link = link; }

  /** The address given to connect(). */
  get url(): string { return this.#link.url; }
  /** The prefix of every key this cluster's objects use. */
  get prefix(): string { return this.#link.prefix; }

  list<T = unknown>(name: string): ClusterList<T> { return new ClusterList<T>(this.#link, this.#revive, 'list', name); }
  dict<V = unknown>(name: string): ClusterDict<V> { return new ClusterDict<V>(this.#link, this.#revive, 'dict', name); }
  /** A Value named `name`; `initial` is written by the first handle, on any host, to use it. */
  Value<T = number>(name: string, typecode: string | null, initial: T): ClusterValue<T> { return new ClusterValue<T>(this.#link, this.#revive, name, typecode, initial); }
  Queue<T = unknown>(name: string, maxsize = 0): ClusterQueue<T> { return new ClusterQueue<T>(this.#link, this.#revive, name, maxsize); }
  JoinableQueue<T = unknown>(name: string, maxsize = 0): ClusterJoinableQueue<T> { return new ClusterJoinableQueue<T>(this.#link, this.#revive, name, maxsize); }
  Lock(name: string, options?: LeaseOptions): ClusterLock { return new ClusterLock(this.#link, this.#revive, name, options); }
  Semaphore(name: string, value = 1, options?: LeaseOptions): ClusterSemaphore { return new ClusterSemaphore(this.#link, this.#revive, name, value, options); }
  Event(name: string): ClusterEvent { return new ClusterEvent(this.#link, this.#revive, 'Event', name); }

  /** A Pool whose workers are `mpkit worker` processes on any host connected to this Redis. */
  Pool(options: ClusterPoolOptions = {}): ClusterPool { return new ClusterPool(this.#link, this.#revive, options); }

  #named({ kind, name, args }: Named): unknown {
    switch (kind) {
      case 'list': return this.list(name);
      case 'dict': return this.dict(name);
      case 'Value': return this.Value(name, args[0] as string | null, args[1]);
      case 'Queue': return this.Queue(name, args[0] as number);
      case 'JoinableQueue': return this.JoinableQueue(name, args[0] as number);
      case 'Lock': return this.Lock(name, args[1] as LeaseOptions);
      case 'Semaphore': return this.Semaphore(name, args[0] as number, args[1] as LeaseOptions);
      case 'Event': return this.Event(name);
      default: throw new TypeError(`A value names a cluster ${kind} "${name}", which this version of mpkit does not know: use the same mpkit version on every host`);
    }
  }

  /** Closes this program's connections; objects stay in Redis for the other hosts. */
  close(): void { this.#link.close(); }
  async [Symbol.asyncDispose](): Promise<void> { this.close(); }
}

/** Connects to the Redis at `url` (redis://host:port, rediss://, unix:///path.sock). */
export async function connect(url: string, options: ConnectOptions = {}): Promise<Cluster> {
  return new Cluster(await Link.connect(url, options));
}
