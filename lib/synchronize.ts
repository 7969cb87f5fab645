// Python's synchronize module: the locks, semaphores, conditions, events and barriers that work
// between threads and between processes alike. Each lives in lib/synchronize/; this file gathers them.
export { Lock, RLock, LOCK_BYTES, type AcquireOptions } from './synchronize/lock.ts';
export { Semaphore, BoundedSemaphore } from './synchronize/semaphore.ts';
export { Condition } from './synchronize/condition.ts';
export { Event } from './synchronize/event.ts';
export { Barrier, BrokenBarrierError, type BarrierOptions } from './synchronize/barrier.ts';
export { TimeoutError } from './waiting.ts';
