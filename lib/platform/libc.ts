// The libc calls mpkit makes, as every FFI backend offers them (linux.ts picks one). Each backend takes and returns
// the same shapes: addresses as bigint, C strings as NUL-terminated bytes, -1 with errno() on failure.
// errno() must be read right after the failed call, on the same thread, with no I/O in between.
export interface Libc {
  shmOpen(name: Uint8Array, flags: number, mode: number): number;
  ftruncate(fd: number, length: number): number;
  /** The new offset, or -1. */
  lseek(fd: number, offset: number, whence: number): number;
  /** The mapping's address, or MAP_FAILED (2^64 - 1). */
  mmap(length: number, prot: number, flags: number, fd: number): bigint;
  /** An ArrayBuffer over `length` bytes of memory at `address`, not a copy. */
  view(address: bigint, length: number): ArrayBuffer;
  munmap(address: bigint, length: number): number;
  close(fd: number): number;
  shmUnlink(name: Uint8Array): number;
  strerror(errno: number): string;
  /** syscall(2) with the futex's argument shapes (gettid's are zeros). */
  syscall(number: number, address: bigint, op: number, value: number, timeout: Uint8Array | null): number;
  schedYield(): void;
  prctl(option: number, arg: number): number;
  errno(): number;
}

export const MAP_FAILED = 0xffffffffffffffffn;

/** A C string: the text's UTF-8 bytes and a NUL. */
export const cString = (text: string): Uint8Array => new TextEncoder().encode(`${text}\0`);
