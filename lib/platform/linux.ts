// The OS seam on Linux: POSIX shared memory and futexes through koffi, whose prebuilt binaries load
// in Node, Deno and Bun alike with no compiler at install. Everything above this file is portable;
// a macOS seam would offer the same four calls (with __ulock_wait/__ulock_wake for futexes).
import { builtin } from './builtins.ts';
import { nativeCalls } from './native_ffi.ts';

// koffi and libc load on first use, so a child that never touches shared memory does not pay for them.
function bind() {
  const koffi = builtin('node:module').createRequire(import.meta.url)('koffi');
  const libc = koffi.load('libc.so.6');
  return {
    koffi,
    shm_open: libc.func('int shm_open(const char *name, int oflag, uint32_t mode)'),
    ftruncate: libc.func('int ftruncate(int fd, int64_t length)'),
    lseek: libc.func('int64_t lseek(int fd, int64_t offset, int whence)'),
    mmap: libc.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)'),
    munmap: libc.func('int munmap(void *addr, size_t length)'),
    close: libc.func('int close(int fd)'),
    shm_unlink: libc.func('int shm_unlink(const char *name)'),
    strerror: libc.func('const char *strerror(int errnum)'),
    // futex(2) has no libc wrapper; the raw syscall takes the word's address as a plain integer.
    syscall: libc.func('long syscall(long number, uint64_t uaddr, int op, int val, void *timeout, void *uaddr2, int val3)'),
    sched_yield: libc.func('int sched_yield()'),
    prctl: libc.func('int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)'),
  };
}
let bound: ReturnType<typeof bind> | null = null;
const c = () => (bound ??= bind());

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
  const fd = c().shm_open(name, O_RDWR | (create ? O_CREAT | O_EXCL : 0), 0o600);
  if (fd < 0) throw new OSError(`shm_open(${name})`, c().koffi.errno());
  try {
    if (create && c().ftruncate(fd, size) !== 0) throw new OSError(`ftruncate(${name})`, c().koffi.errno());
    const length = create ? size : Number(c().lseek(fd, 0, SEEK_END));
    if (length <= 0) throw new OSError(`segment ${name} is empty`, EAGAIN);
    const ptr = c().mmap(null, length, PROT_READ | PROT_WRITE, MAP_SHARED | (populate ? MAP_POPULATE : 0), fd, 0);
    const address = c().koffi.address(ptr);
    if (address === 0xffffffffffffffffn) throw new OSError(`mmap(${name})`, c().koffi.errno());
    const buffer: ArrayBuffer = c().koffi.view(ptr, length);
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
        c().munmap(ptr, length);
      },
    };
  } finally {
    c().close(fd);
  }
}

/** Removes the name of a segment; processes that mapped it keep their memory until they unmap. */
export function unlinkSegment(name: string): void {
  if (c().shm_unlink(name) !== 0) throw new OSError(`shm_unlink(${name})`, c().koffi.errno());
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
  const native = nativeCalls(), timeout = ms === undefined ? null : timespec(ms);
  const r = native ? native.syscall(SYS_futex, address, FUTEX_WAIT, expected, timeout) : c().syscall(SYS_futex, address, FUTEX_WAIT, expected, timeout, null, 0);
  if (r === 0) return true;
  const errno = native ? native.errno() : c().koffi.errno();
  if (errno === EAGAIN || errno === EINTR) return true; // the word changed, or a signal: the caller re-checks
  if (errno === ETIMEDOUT) return false;
  throw new OSError('futex wait', errno);
}

/** futexWait on one of koffi's worker threads, so the event loop keeps running while it sleeps. */
export function futexWaitAsync(address: bigint, expected: number, ms: number): Promise<boolean> {
  const timeout = timespec(ms);
  return new Promise((resolve, reject) => {
    c().syscall.async(SYS_futex, address, FUTEX_WAIT, expected, timeout, null, 0, (err: unknown, r: number) => {
      // errno is per thread and the wait ran on another one; a timeout and a wake-up look alike
      // here, so the caller re-checks the word either way.
      if (err) reject(err as Error);
      else resolve(r === 0);
    });
  });
}

/** Lets another runnable thread have this CPU now, if one waits for it. */
export function yieldCpu(): void {
  const native = nativeCalls();
  if (native) native.schedYield();
  else c().sched_yield();
}

/** Wakes up to `count` threads, in any process, sleeping on the word at `address`. */
export function futexWake(address: bigint, count: number): number {
  const native = nativeCalls();
  return native ? native.syscall(SYS_futex, address, FUTEX_WAKE, count, null) : Number(c().syscall(SYS_futex, address, FUTEX_WAKE, count, null, null, 0));
}

let tid = 0;

/**
 * This thread's id in the kernel: unique across every thread of every process, the pid for a main
 * thread, and gone when the thread ends, so a lock can name its owner thread and see it die.
 */
export function kernelThreadId(): number {
  return (tid ||= Number(c().syscall(SYS_gettid, 0n, 0, 0, null, null, 0)));
}

const PR_SET_PDEATHSIG = 1, SIGTERM = 15;

/**
 * Asks the kernel to send this process SIGTERM when the thread that started it ends: for a child
 * started from its parent's main thread, when the parent does, however it dies, even while this
 * process's own JavaScript is busy or blocked. False if the kernel refused.
 */
export function endWithParentThread(): boolean {
  return c().prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) === 0;
}

/** Undoes endWithParentThread(): a spare that becomes a non-daemon process outlives its parent, as a spawned one does. */
export function keepAfterParent(): void {
  c().prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
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

