// `mpkit/cluster`: Pool, Queue, list, dict, Value, Event, Lock and Semaphore on a Redis server, for
// processes on any number of hosts. connect() a URL; name the objects alike on every host.
export { connect, Cluster } from './cluster/cluster.ts';
export type { ConnectOptions } from './cluster/link.ts';
export { ClusterList } from './cluster/list.ts';
export { ClusterDict } from './cluster/dict.ts';
export { ClusterValue, ClusterEvent } from './cluster/value.ts';
export { ClusterQueue, ClusterJoinableQueue, type ClusterPut } from './cluster/queue.ts';
export { ClusterLock, ClusterSemaphore, Lease, LeaseLostError, type LeaseOptions, type ClusterAcquire } from './cluster/lease.ts';
export { ClusterPool, type ClusterPoolOptions } from './cluster/pool.ts';
export { serveWorker, WorkerHost, type WorkerOptions } from './cluster/worker.ts';
export { main as cli } from './cluster/cli.ts';
