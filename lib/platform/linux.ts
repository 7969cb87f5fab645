// The OS seam on Linux: POSIX shared memory, futexes and prctl through libc (libc.ts), called
// through the runtime's own FFI where it has one and koffi elsewhere. Everything above this file is
// portable; a macOS seam would offer the same calls (with __ulock_wait/__ulock_wake for futexes).
import { builtin } from './builtins.ts';
import { cString, MAP_FAILED, type Libc } from './libc.ts';
import { koffiCalls, koffiLibc } from './libc_koffi.ts';
import { nativeLibc } from './native_ffi.ts';

// Chosen and loaded on first use, so a child that never touches shared memory loads no FFI at all.
let chosen: Libc | undefined;
const c = (): Libc => (chosen ??= nativeLibc() ?? koffiLibc());

const O_RDWR = 0o2, O_CREAT = 0o100, O_EXCL = 0o200;
const PROT_READ = 1, PROT_WRITE = 2, MAP_SHARED = 1, MAP_POPULATE = 0x8000, SEEK_END = 2;
const SYS_futex = 202, SYS_gettid = 186, FUTEX_WAIT = 0, FUTEX_WAKE = 1;
const ETIMEDOUT = 110, EINTR = 4, EAGAIN = 11, ENOENT = 2, EEXIST = 17;

export interface Mapping {
  buffer: ArrayBuffer;
  address: bigint;
  size: number;
  unmap(): void;
}

/** An OS error with its errno name, so callers can tell "no such segment" from the rest. */
export class OSError extends Error {
  readonly errno: number;
  readonly code: string;
  constructor(what: string, errno: number, whole = false) {
    super(whole ? what : `${what}: ${c().strerror(errno)}`);
    this.errno = errno;
    this.code = errno === ENOENT ? 'ENOENT' : errno === EEXIST ? 'EEXIST' : `E${errno}`;
  }
}

/**
 * Opens (or creates, exclusively) the named segment and maps all of it; size 0 means "as it is".
 * `populate`: map every page now, in one go, for a segment about to be read through: on a VM,
 * taking its pages one fault at a time made reading 50 MB three times slower.
 */
export function mapSegment(name: string, create: boolean, size: number, populate = false): Mapping {
  const libc = c();
  const fd = libc.shmOpen(cString(name), O_RDWR | (create ? O_CREAT | O_EXCL : 0), 0o600);
  if (fd < 0) throw new OSError(`shm_open(${name})`, libc.errno());
  try {
    if (create && libc.ftruncate(fd, size) !== 0) throw new OSError(`ftruncate(${name})`, libc.errno());
    const length = create ? size : libc.lseek(fd, 0, SEEK_END);
    if (length <= 0) throw new OSError(`segment ${name} is empty`, EAGAIN);
    const address = libc.mmap(length, PROT_READ | PROT_WRITE, MAP_SHARED | (populate ? MAP_POPULATE : 0), fd);
    if (address === MAP_FAILED) throw new OSError(`mmap(${name})`, libc.errno());
    const buffer = libc.view(address, length);
    let mapped = true;
    return {
      buffer, address, size: length,
      unmap() {
        if (!mapped) return;
        mapped = false;
        // Unmapping memory that a live ArrayBuffer still points at would crash the next access.
        // Where the runtime can detach the buffer (ArrayBuffer.prototype.transfer: Node 21+, Bun,
        // Deno) every view of it goes empty first; on Node 20 the mapping stays until exit.
        const detach = (buffer as { transfer?: (n: number) => ArrayBuffer }).transfer;
        if (!detach) return;
        try { detach.call(buffer, 0); } catch { return; }
        libc.munmap(address, length);
      },
    };
  } finally {
    libc.close(fd);
  }
}

/** Removes the name of a segment; processes that mapped it keep their memory until they unmap. */
export function unlinkSegment(name: string): void {
  const libc = c();
  if (libc.shmUnlink(cString(name)) !== 0) throw new OSError(`shm_unlink(${name})`, libc.errno());
}

/** A relative struct timespec of `ms` milliseconds, as futex(2) takes it. */
function timespec(ms: number): Buffer {
  const whole = Math.max(0, ms);
  const ts = Buffer.alloc(16);
  ts.writeBigInt64LE(BigInt(Math.floor(whole / 1000)), 0);
  ts.writeBigInt64LE(BigInt(Math.round((whole % 1000) * 1e6)), 8);
  return ts;
}

/**
 * Sleeps while the 32-bit word at `address` still holds `expected`, for at most `ms` (forever if
 * undefined). Returns false on timeout. This blocks the calling thread, as Atomics.wait does:
 * Atomics.wait refuses memory that is not a SharedArrayBuffer, and a mapping never is one.
 */
export function futexWait(address: bigint, expected: number, ms?: number): boolean {
  const libc = c();
  const r = libc.syscall(SYS_futex, address, FUTEX_WAIT, expected, ms === undefined ? null : timespec(ms));
  if (r === 0) return true;
  const errno = libc.errno();
  if (errno === EAGAIN || errno === EINTR) return true; // the word changed, or a signal: the caller re-checks
  if (errno === ETIMEDOUT) return false;
  throw new OSError('futex wait', errno);
}

/** futexWait on one of koffi's worker threads, so the event loop keeps running while it sleeps. */
export function futexWaitAsync(address: bigint, expected: number, ms: number): Promise<boolean> {
  const timeout = timespec(ms);
  return new Promise((resolve, reject) => {
    koffiCalls().syscall.async(SYS_futex, address, FUTEX_WAIT, expected, timeout, null, 0, (err: unknown, r: number) => {
      // errno is per thread and the wait ran on another one; a timeout and a wake-up look alike
      // here, so the caller re-checks the word either way.
      if (err) reject(err as Error);
      else resolve(r === 0);
    });
  });
}

/** Lets another runnable thread have this CPU now, if one waits for it. */
export function yieldCpu(): void {
  c().schedYield();
}

/** Wakes up to `count` threads, in any process, sleeping on the word at `address`. */
export function futexWake(address: bigint, count: number): number {
  return c().syscall(SYS_futex, address, FUTEX_WAKE, count, null);
}

let tid = 0;

/**
 * This thread's id in the kernel: unique across every thread of every process, the pid for a main
 * thread, and gone when the thread ends, so a lock can name its owner thread and see it die.
 */
export function kernelThreadId(): number {
  return (tid ||= c().syscall(SYS_gettid, 0n, 0, 0, null));
}

const PR_SET_PDEATHSIG = 1, SIGTERM = 15;

/**
 * Asks the kernel to send this process SIGTERM when the thread that started it ends: for a child
 * started from its parent's main thread, when the parent does, however it dies, even while this
 * process's own JavaScript is busy or blocked. False if the kernel refused.
 */
export function endWithParentThread(): boolean {
  return c().prctl(PR_SET_PDEATHSIG, SIGTERM) === 0;
}

/** Undoes endWithParentThread(): a spare that becomes a non-daemon process outlives its parent, as a spawned one does. */
export function keepAfterParent(): void {
  c().prctl(PR_SET_PDEATHSIG, 0);
}

/** The state letter of /proc/<pid>/stat (R, S, D, T, t, Z...), or null once the process is gone. */
function processState(pid: number): string | null {
  try {
    const stat = builtin('node:fs').readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/** True once the process with this pid has ended, reaped or not (a zombie has ended too). */
export function processEnded(pid: number): boolean {
  const state = processState(pid);
  return state === null || state === 'Z';
}

/** True while the process is stopped by a signal (SIGSTOP, SIGTSTP) or a debugger. */
export function processStopped(pid: number): boolean {
  const state = processState(pid);
  return state === 'T' || state === 't';
}

