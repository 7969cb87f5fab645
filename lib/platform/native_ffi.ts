// The calls every blocking wait and wake makes (futex(2), sched_yield), through the runtime's own
// FFI where it has one: a call through bun:ffi costs some 3 ns and through Deno.dlopen some 5,
// against koffi's 45 to 52. koffi (linux.ts) stays for the rest, and wherever these are missing.
import { builtin } from './builtins.ts';
import { runtime } from './runtime.ts';

/** syscall(2) with the futex's argument shapes; errno() reads this thread's errno after a call. */
export interface NativeCalls {
  syscall(number: number, address: bigint, op: number, value: number, timeout: Uint8Array | null): number;
  schedYield(): void;
  errno(): number;
}

interface DenoFfi {
  dlopen(path: string, symbols: Record<string, { parameters: string[]; result: string }>): { symbols: Record<string, (...a: unknown[]) => unknown> };
  UnsafePointer: { of(buffer: Uint8Array): unknown };
  UnsafePointerView: new (pointer: unknown) => { getInt32(offset?: number): number };
}

function forDeno(): NativeCalls {
  const D = (globalThis as unknown as { Deno: DenoFfi }).Deno;
  const { symbols } = D.dlopen('libc.so.6', {
    syscall: { parameters: ['i64', 'u64', 'i32', 'i32', 'pointer', 'pointer', 'i32'], result: 'i64' },
    sched_yield: { parameters: [], result: 'i32' },
    __errno_location: { parameters: [], result: 'pointer' },
  });
  const errnoAt = new D.UnsafePointerView(symbols.__errno_location()); // per thread: made on the thread that uses it
  return {
    syscall: (n, address, op, value, timeout) => Number(symbols.syscall(BigInt(n), address, op, value, timeout && D.UnsafePointer.of(timeout), null, 0)),
    schedYield: () => { symbols.sched_yield(); },
    errno: () => errnoAt.getInt32(),
  };
}

interface BunFfi {
  dlopen(path: string, symbols: Record<string, { args: string[]; returns: string }>): { symbols: Record<string, (...a: unknown[]) => unknown> };
  ptr(buffer: Uint8Array): number;
  read: { i32(pointer: number, offset?: number): number };
}

function forBun(): NativeCalls {
  const ffi = builtin('node:module').createRequire(import.meta.url)('bun:ffi') as BunFfi;
  const { symbols } = ffi.dlopen('libc.so.6', {
    syscall: { args: ['i64', 'u64', 'i32', 'i32', 'ptr', 'ptr', 'i32'], returns: 'i64' },
    sched_yield: { args: [], returns: 'i32' },
    __errno_location: { args: [], returns: 'ptr' },
  });
  const errnoAt = symbols.__errno_location() as number;
  return {
    syscall: (n, address, op, value, timeout) => Number(symbols.syscall(n, address, op, value, timeout && ffi.ptr(timeout), null, 0)),
    schedYield: () => { symbols.sched_yield(); },
    errno: () => ffi.read.i32(errnoAt, 0),
  };
}

let calls: NativeCalls | null | undefined;

/** This runtime's own FFI for these calls, or null (Node before node:ffi, or an FFI that failed to load). */
export function nativeCalls(): NativeCalls | null {
  if (calls !== undefined) return calls;
  try {
    // MPKIT_FFI=koffi keeps these on koffi too: for comparing the two, or a runtime FFI that misbehaves.
    const D = (globalThis as { Deno?: { env: { get(n: string): string | undefined } } }).Deno;
    const chosen = D ? D.env.get('MPKIT_FFI') : process.env.MPKIT_FFI;
    calls = chosen === 'koffi' ? null : runtime === 'deno' ? forDeno() : runtime === 'bun' ? forBun() : null;
  } catch {
    calls = null; // no FFI permission, or no libc.so.6: koffi's path still works
  }
  return calls;
}
