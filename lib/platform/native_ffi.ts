// libc through the runtime's own FFI where it has one: bun:ffi, Deno.dlopen, and node:ffi on Node
// 26.1 and later. A call through them costs some 3, 5 and 17 ns against koffi's 45 to 52, and none
// of them loads a native module: koffi's took some 10 ms of every child's start (prctl at boot).
import { builtin } from './builtins.ts';
import type { Libc } from './libc.ts';
import { runtime } from './runtime.ts';

// One table for the three: [name, parameters, result], in a neutral spelling each maps to its own.
type T = 'i32' | 'i64' | 'u64' | 'ptr' | 'buf';
const SYMBOLS: [string, T[], T][] = [
  ['shm_open', ['buf', 'i32', 'i32'], 'i32'],
  ['ftruncate', ['i32', 'i64'], 'i32'],
  ['lseek', ['i32', 'i64', 'i32'], 'i64'],
  ['mmap', ['u64', 'u64', 'i32', 'i32', 'i32', 'i64'], 'u64'],
  ['munmap', ['u64', 'u64'], 'i32'],
  ['close', ['i32'], 'i32'],
  ['shm_unlink', ['buf'], 'i32'],
  ['strerror', ['i32'], 'ptr'],
  // futex(2) has no libc wrapper; the raw syscall takes the word's address as a plain integer.
  ['syscall', ['i64', 'u64', 'i32', 'i32', 'buf', 'u64', 'i32'], 'i64'],
  ['sched_yield', [], 'i32'],
  ['prctl', ['i32', 'u64', 'u64', 'u64', 'u64'], 'i32'],
  ['__errno_location', [], 'ptr'],
];
type Fn = (...a: unknown[]) => unknown;
const table = <S>(spell: (t: T) => string, shape: (params: string[], result: string) => S) =>
  Object.fromEntries(SYMBOLS.map(([name, params, result]) => [name, shape(params.map(spell), spell(result))]));

interface Memory {
  view(address: bigint, length: number): ArrayBuffer;
  cString(pointer: unknown): string;
  /** A reader of the int at `pointer`. */
  int32At(pointer: unknown): () => number;
  /** Bytes as this FFI takes a pointer argument. */
  bytes?(bytes: Uint8Array | null): unknown;
}

/** The backend from bound functions and how this FFI reads memory; 64-bit results may come as bigint or number. */
function backend(f: Record<string, Fn>, how: Memory): Libc {
  const errno = how.int32At(f.__errno_location()); // per thread: made on the thread that uses it
  const bytes = how.bytes ?? ((b: Uint8Array | null) => b);
  const zero = 0n;
  return {
    shmOpen: (name, flags, mode) => Number(f.shm_open(bytes(name), flags, mode)),
    ftruncate: (fd, length) => Number(f.ftruncate(fd, BigInt(length))),
    lseek: (fd, offset, whence) => Number(f.lseek(fd, BigInt(offset), whence)),
    mmap: (length, prot, flags, fd) => BigInt.asUintN(64, BigInt(f.mmap(zero, BigInt(length), prot, flags, fd, 0n) as bigint)),
    view: how.view,
    munmap: (address, length) => Number(f.munmap(address, BigInt(length))),
    close: (fd) => Number(f.close(fd)),
    shmUnlink: (name) => Number(f.shm_unlink(bytes(name))),
    strerror: (errno) => how.cString(f.strerror(errno)),
    syscall: (n, address, op, value, timeout) => Number(f.syscall(BigInt(n), address, op, value, bytes(timeout), zero, 0)),
    schedYield: () => { f.sched_yield(); },
    prctl: (option, arg) => Number(f.prctl(option, BigInt(arg), zero, zero, zero)),
    errno,
  };
}

interface DenoFfi {
  dlopen(path: string, symbols: Record<string, { parameters: string[]; result: string }>): { symbols: Record<string, Fn> };
  UnsafePointer: { create(address: bigint): unknown };
  UnsafePointerView: { getArrayBuffer(pointer: unknown, length: number): ArrayBuffer; getCString(pointer: unknown): string } & (new (pointer: unknown) => { getInt32(offset?: number): number });
}

function forDeno(): Libc {
  const D = (globalThis as unknown as { Deno: DenoFfi }).Deno;
  const spell = (t: T) => ({ i32: 'i32', i64: 'i64', u64: 'u64', ptr: 'pointer', buf: 'buffer' })[t];
  const { symbols } = D.dlopen('libc.so.6', table(spell, (parameters, result) => ({ parameters, result })));
  return backend(symbols, {
    view: (address, length) => D.UnsafePointerView.getArrayBuffer(D.UnsafePointer.create(address), length),
    cString: (pointer) => D.UnsafePointerView.getCString(pointer),
    int32At: (pointer) => { const at = new D.UnsafePointerView(pointer); return () => at.getInt32(); },
  });
}

interface BunFfi {
  dlopen(path: string, symbols: Record<string, { args: string[]; returns: string }>): { symbols: Record<string, Fn> };
  toArrayBuffer(pointer: number, offset: number, length: number): ArrayBuffer;
  CString: new (pointer: number) => { toString(): string };
  read: { i32(pointer: number, offset?: number): number };
  ptr(bytes: Uint8Array): number;
}

function forBun(): Libc {
  const ffi = builtin('node:module').createRequire(import.meta.url)('bun:ffi') as BunFfi;
  const spell = (t: T) => ({ i32: 'i32', i64: 'i64', u64: 'u64', ptr: 'ptr', buf: 'ptr' })[t];
  const { symbols } = ffi.dlopen('libc.so.6', table(spell, (args, returns) => ({ args, returns })));
  return backend(symbols, {
    view: (address, length) => ffi.toArrayBuffer(Number(address), 0, length),
    cString: (pointer) => new ffi.CString(pointer as number).toString(),
    int32At: (pointer) => () => ffi.read.i32(pointer as number, 0),
    bytes: (bytes) => bytes && ffi.ptr(bytes),
  });
}

interface NodeFfi {
  dlopen(path: string, symbols: Record<string, { arguments: string[]; return: string }>): { functions: Record<string, Fn> };
  toArrayBuffer(pointer: bigint, length: number, copy: boolean): ArrayBuffer;
  toString(pointer: bigint): string;
  getInt32(pointer: bigint, offset?: number): number;
}

/** node:ffi, or null on a Node without it; its one-time ExperimentalWarning is not the user's to read. */
function nodeFfi(): NodeFfi | null {
  const p = process as unknown as { getBuiltinModule?(name: string): unknown; emitWarning: (...a: unknown[]) => void };
  const emit = p.emitWarning;
  p.emitWarning = function (this: unknown, warning: unknown, ...rest: unknown[]) {
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    if (type === 'ExperimentalWarning' && String(warning).startsWith('FFI')) return;
    emit.call(this, warning, ...rest);
  };
  try {
    return (p.getBuiltinModule?.('node:ffi') as NodeFfi | undefined) ?? null;
  } finally {
    p.emitWarning = emit;
  }
}

function forNode(): Libc | null {
  const ffi = nodeFfi();
  if (!ffi) return null;
  const spell = (t: T) => ({ i32: 'i32', i64: 'i64', u64: 'u64', ptr: 'pointer', buf: 'pointer' })[t];
  const { functions } = ffi.dlopen('libc.so.6', table(spell, (args, result) => ({ arguments: args, return: result })));
  return backend(functions, {
    view: (address, length) => ffi.toArrayBuffer(address, length, false),
    cString: (pointer) => ffi.toString(pointer as bigint),
    int32At: (pointer) => () => ffi.getInt32(pointer as bigint),
  });
}

/** This runtime's own FFI, or null (Node before 26.1, no FFI permission, or MPKIT_FFI=koffi). */
export function nativeLibc(): Libc | null {
  try {
    // MPKIT_FFI=koffi keeps every call on koffi: for comparing the two, or a runtime FFI that misbehaves.
    const D = (globalThis as { Deno?: { env: { get(n: string): string | undefined } } }).Deno;
    const chosen = D ? D.env.get('MPKIT_FFI') : process.env.MPKIT_FFI;
    if (chosen === 'koffi') return null;
    return runtime === 'deno' ? forDeno() : runtime === 'bun' ? forBun() : forNode();
  } catch {
    return null; // no FFI permission (Node's --permission without --allow-ffi too), or no libc.so.6: koffi's path still works
  }
}

