// Errors that happened in another process travel as data ({ name, message, stack }) and are
// thrown again here, as CPython's managers and pools do: the same kind of error where it is one the
// caller can catch by class, with the remote stack as its cause.
import { BrokenBarrierError } from './synchronize.ts';
import { Empty, Full } from './queues.ts';
import { TimeoutError } from './waiting.ts';

export interface RemoteErrorData { name: string; message: string; stack?: string }

/** Carries the other process's stack, as the cause of the error thrown here. */
export class RemoteError extends Error {
  override name = 'RemoteError';
}

export function errorData(e: unknown): RemoteErrorData {
  return e instanceof Error ? { name: e.name, message: e.message, stack: e.stack } : { name: 'Error', message: String(e) };
}

// The built-in kinds a caller may catch by class, and mpkit's own.
const KNOWN: Record<string, new (message: string, options?: ErrorOptions) => Error> = {
  Empty, Full, Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, TimeoutError,
};

export function rethrown(data: RemoteErrorData, where: string): Error {
  const cause = new RemoteError(`in ${where}:\n${data.stack ?? data.message}`);
  if (data.name === 'BrokenBarrierError') return Object.assign(new BrokenBarrierError(), { cause });
  const Kind = KNOWN[data.name] ?? Error;
  const e = new Kind(data.message, { cause });
  if (!(data.name in KNOWN)) e.name = data.name;
  return e;
}
