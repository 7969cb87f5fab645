// libc through koffi, whose prebuilt binaries load in Node, Deno and Bun alike with no compiler at
// install: the backend wherever the runtime has no FFI of its own (Node before 26.1), and the one
// that runs a futex wait on another thread (futexWaitAsync).
import { builtin } from './builtins.ts';
import { MAP_FAILED, type Libc } from './libc.ts';

/** koffi itself, bound to libc: loads some 10 ms of native module on first use. */
export function koffiBound() {
  const koffi = builtin('node:module').createRequire(import.meta.url)('koffi');
  const lib = koffi.load('libc.so.6');
  return {
    koffi,
    shm_open: lib.func('int shm_open(const uint8_t *name, int oflag, uint32_t mode)'),
    ftruncate: lib.func('int ftruncate(int fd, int64_t length)'),
    lseek: lib.func('int64_t lseek(int fd, int64_t offset, int whence)'),
    mmap: lib.func('int64_t mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)'),
    munmap: lib.func('int munmap(uint64_t addr, size_t length)'),
    close: lib.func('int close(int fd)'),
    shm_unlink: lib.func('int shm_unlink(const uint8_t *name)'),
    strerror: lib.func('const char *strerror(int errnum)'),
    // futex(2) has no libc wrapper; the raw syscall takes the word's address as a plain integer.
    syscall: lib.func('long syscall(long number, uint64_t uaddr, int op, int val, void *timeout, void *uaddr2, int val3)'),
    sched_yield: lib.func('int sched_yield()'),
    prctl: lib.func('int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)'),
  };
}

let bound: ReturnType<typeof koffiBound> | undefined;
export const koffiCalls = () => (bound ??= koffiBound());

export function koffiLibc(): Libc {
  const c = koffiCalls();
  return {
    shmOpen: (name, flags, mode) => c.shm_open(name, flags, mode),
    ftruncate: (fd, length) => c.ftruncate(fd, length),
    lseek: (fd, offset, whence) => Number(c.lseek(fd, offset, whence)),
    // Addresses fit a double exactly (user space ends below 2^47); -1 is MAP_FAILED.
    mmap: (length, prot, flags, fd) => { const r = Number(c.mmap(null, length, prot, flags, fd, 0)); return r === -1 ? MAP_FAILED : BigInt(r); },
    view: (address, length) => c.koffi.view(Number(address), length),
    munmap: (address, length) => c.munmap(Number(address), length),
    close: (fd) => c.close(fd),
    shmUnlink: (name) => c.shm_unlink(name),
    strerror: (errno) => c.strerror(errno),
    syscall: (n, address, op, value, timeout) => Number(c.syscall(n, address, op, value, timeout, null, 0)),
    schedYield: () => { c.sched_yield(); },
    prctl: (option, arg) => c.prctl(option, arg, 0, 0, 0),
    errno: () => c.koffi.errno(),
  };
}
