// The entry point of every process and thread mpkit starts: import the target's module, call the
// target, exit. An exception prints its stack to stderr and exits with code 1, as in Python.
import { isMainThread, workerData } from 'node:worker_threads';
import { loadTarget, receivedSpec, type SpawnSpec } from './spawn.ts';
import { setIdentity } from './identity.ts';
import './index.ts'; // registers every type a child may receive

const spec: SpawnSpec | null = isMainThread ? receivedSpec() : workerData;
if (!spec) {
  console.error('mpkit/bootstrap is started by Process and Thread, not by hand');
  process.exit(2);
}
setIdentity(spec.name, isMainThread ? spec.parentPid : null);

try {
  const { fn, args } = await loadTarget(spec);
  await fn(...args);
  if (isMainThread) process.exit(0);
} catch (e) {
  console.error(e instanceof Error ? e.stack : e);
  if (isMainThread) process.exit(1);
  // A thread that raises prints its stack and ends; the process goes on, as in Python.
}
