// The entry point of every process and thread mpkit starts (the built package has dist/bootstrap.js,
// built from this file): it holds only spawn.ts and what that needs, and loads the rest of mpkit
// when the target's arguments or module need it (spawn.ts: loadTarget).
import { runChild } from './child.ts';
import { ensureBuiltins } from './platform/builtins.ts';

await ensureBuiltins();
await runChild();
