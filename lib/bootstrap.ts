// The entry point of every process and thread mpkit starts from the sources (the built package has
// dist/bootstrap.js, the same two steps): load all of mpkit, so every type a child may receive is
// registered, then run the target (spawn.ts: runChild).
import './index.ts';
import { runChild } from './spawn.ts';

await runChild();
