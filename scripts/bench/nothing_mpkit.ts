// The target of the second start-up figure: as nothing.ts, in a module that imports mpkit, as the
// module of most targets does, so the child loads all of mpkit before it calls the target.
import 'mpkit';

export function nothing() {}
