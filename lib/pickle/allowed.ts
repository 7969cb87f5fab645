// The globals a pickle may name, and what each becomes here. Unpickling is code execution in
// Python: a pickle calls whatever global it names (os.system, say). This side calls nothing it
// names; it looks the name up in an allow-list, and refuses the rest.
import { PickleError, PyGlobal, PySlice, PythonError } from './values.ts';

/**
 * What an allowed global does: a function given REDUCE's arguments, or 'object' for a class that is
 * kept as a PyObject (made by REDUCE or NEWOBJ, given its state by BUILD).
 */
export type Allowed = ((args: readonly unknown[], name: PyGlobal) => unknown) | 'object';
/** Allowed globals by `module.name`, as Python 3 spells them. */
export type AllowList = Readonly<Record<string, Allowed>>;

// Protocol 2 pickles name Python 2's modules; Python 3 reads them through these (its _compat_pickle).
const PYTHON2_MODULES: Record<string, string> = { __builtin__: 'builtins', exceptions: 'builtins', Queue: 'queue', copy_reg: 'copyreg' };

/** The global as Python 3 names it. */
export const python3Name = (module: string, name: string) => new PyGlobal(PYTHON2_MODULES[module] ?? module, name);

function latin1(text: unknown): Uint8Array {
  if (typeof text !== 'string') throw new PickleError('bytes encoded from a non-string');
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) throw new PickleError('bytes encoded from a non-latin-1 string');
    out[i] = c;
  }
  return out;
}

const items = (args: readonly unknown[], what: string): Iterable<unknown> => {
  const [from = []] = args;
  if (Array.isArray(from) || from instanceof Set) return from;
  throw new PickleError(`${what}() of something other than a list`);
};

const error = (args: readonly unknown[], name: PyGlobal) => new PythonError(name, args);

const EXCEPTIONS = [
  'Exception', 'ArithmeticError', 'AssertionError', 'AttributeError', 'BrokenPipeError', 'BufferError',
  'ConnectionError', 'ConnectionRefusedError', 'ConnectionResetError', 'EOFError', 'FileExistsError',
  'FileNotFoundError', 'IndexError', 'KeyError', 'LookupError', 'MemoryError', 'NameError',
  'NotImplementedError', 'OSError', 'OverflowError', 'PermissionError', 'RecursionError',
  'RuntimeError', 'StopIteration', 'TimeoutError', 'TypeError', 'ValueError', 'ZeroDivisionError',
];

/** What every decode allows: Python's containers, bytes, slices, and its common exceptions. */
export const BUILTINS: AllowList = {
  'builtins.set': (args) => new Set(items(args, 'set')),
  'builtins.frozenset': (args) => new Set(items(args, 'frozenset')),
  'builtins.list': (args) => [...items(args, 'list')],
  // Protocol 2 writes b'' as bytes(), and other bytes through _codecs.encode.
  'builtins.bytes': (args) => {
    if (args.length === 0) return new Uint8Array(0);
    throw new PickleError('bytes() with arguments');
  },
  'builtins.bytearray': (args) => {
    const [from = new Uint8Array(0)] = args;
    if (from instanceof Uint8Array) return from;
    throw new PickleError('bytearray() of something other than bytes');
  },
  '_codecs.encode': (args) => {
    if (args[1] !== 'latin1' && args[1] !== 'latin-1') throw new PickleError(`_codecs.encode with encoding ${String(args[1])}: only latin1 is allowed`);
    return latin1(args[0]);
  },
  'builtins.slice': (args) => {
    const ok = (v: unknown): v is number | null => v === null || typeof v === 'number';
    const [start, stop, step] = args.length === 1 ? [null, args[0], null] : args;
    if (!ok(start) || !ok(stop) || !ok(step ?? null)) throw new PickleError('slice() of something other than ints');
    return new PySlice(start, stop, (step ?? null) as number | null);
  },
  ...Object.fromEntries(EXCEPTIONS.map((name) => [`builtins.${name}`, error])),
  '_queue.Empty': error,
  'queue.Empty': error,
  'queue.Full': error,
  'multiprocessing.managers.RemoteError': error,
  'multiprocessing.context.TimeoutError': error,
  'multiprocessing.context.AuthenticationError': error,
};


