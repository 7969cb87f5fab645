// mpkit: Python's multiprocessing for TypeScript. This file only re-exports.
export { cpuCount, getAllStartMethods, getContext, getStartMethod, isMain, setStartMethod, type Context, type StartMethod, type StartMethodOptions } from './context.ts';
export { Process, ParentProcess, activeChildren, currentProcess, parentProcess, type ProcessOptions, type ProcessInfo } from './process.ts';
export { Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event, Barrier, BrokenBarrierError, TimeoutError, type AcquireOptions, type BarrierOptions } from './synchronize.ts';
export { SharedMemory, ShareableList, type SharedMemoryOptions, type Shareable } from './shared_memory.ts';
export { Value, RawValue, Array, RawArray, SharedValue, SharedArray, type Typecode, type Item, type TypedArrayOf } from './sharedctypes.ts';
export { Manager, BaseManager, SyncManager, type ManagerOptions } from './managers.ts';
export {
  BaseProxy, ListProxy, DictProxy, ValueProxy, ArrayProxy, NamespaceProxy, SetProxy, LockProxy, SemaphoreProxy, ConditionProxy,
  EventProxy, BarrierProxy, QueueProxy, type Remote,
} from './managers/proxies.ts';
export { ManagerGoneError } from './managers/client.ts';
export { RemoteError } from './remote.ts';
export { AuthenticationError, BufferTooShort, Connection, EOFError, Pipe, type Address } from './connection.ts';
export { Pool, ThreadPool, AsyncResult, WorkerDiedError, type Callbacks, type PoolOptions, type TaskOptions } from './pool.ts';
export { Queue, JoinableQueue, SimpleQueue, Empty, Full, type QueueOptions, type PutOptions, type GetOptions } from './queues.ts';
