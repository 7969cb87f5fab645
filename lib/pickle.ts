// `mpkit/pickle`: Python's pickle format, read without running anything. loads() builds values
// only from an allow-list of globals and refuses the rest by name; dumps() writes protocol 2 or 4,
// refusing what Python could not read back as the same value. The Python manager protocol speaks it.
export { loads, type LoadOptions } from './pickle/decode.ts';
export { dumps, type DumpOptions } from './pickle/encode.ts';
export { BUILTINS, type Allowed, type AllowList } from './pickle/allowed.ts';
export { PickleError, PyGlobal, PyObject, PySlice, PythonError, isTuple, tuple } from './pickle/values.ts';
