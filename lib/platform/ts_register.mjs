// `node --import <this file>`: registers ts_hooks.mjs, and source maps so a child's stack traces
// point into the TypeScript it was written in.
import { register } from 'node:module';

process.setSourceMapsEnabled(true);
// Node 26 deprecates register() (DEP0205) for registerHooks(), whose hooks run synchronously on
// the importing thread; these are asynchronous hooks, so register() stays, and its warning, about
// mpkit's loader rather than the user's program, is not printed in every child.
const emit = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const code = typeof rest[0] === 'object' ? rest[0]?.code : rest[1]; // (warning, { code }) or (warning, type, code)
  if (code === 'DEP0205') return;
  return emit.call(this, warning, ...rest);
};
try {
  register(new URL('./ts_hooks.mjs', import.meta.url));
} finally {
  process.emitWarning = emit;
}
