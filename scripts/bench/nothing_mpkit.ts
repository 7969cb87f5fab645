// The target of the second start-up figure: as nothing.ts, in a module that imports mpkit, as the
// module of most targets does, so the child loads all of mpkit before it calls the target.
import type * as mp from 'mpkit';
import 'mpkit';

export function nothing() {}

/** The FFI rows' child: maps the Value it is given (the first libc calls of this process) and sets it. */
export function setValue(v: mp.SharedValue<'i'>) {
  v.value = 1;
}
