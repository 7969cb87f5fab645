// The child's side of spawn.ts: read the spec, import the target's module, call the target, exit.
// It is all the bootstrap holds (with what it imports), since every process and thread starts
// with it: the rest of mpkit loads only when the spec needs it, and msgpack and koffi at their
// first use, so a child whose target's module does not use mpkit starts about as fast as its
// runtime does. What it imports is all static, so that it makes one chunk (scripts/build.ts).
import type { SpawnSpec } from './spawn.ts';
import { exit, isMainThread, setProgramModule, takeEnv } from './platform/runtime.ts';
import { builtin } from './platform/builtins.ts';
import { ownFile } from './platform/files.ts';
import { finished, importingTarget, setIdentity } from './identity.ts';
import { loads, revivedWhole } from './reduction.ts';
import { endWithParentThread, keepAfterParent } from './platform/linux.ts';
import type { Handed, SpareBoot } from './warm.ts';

// warm.ts's THREAD_SPARE_READY: a value, and warm.ts is not what a child loads.
const THREAD_SPARE_READY = 'mpkit.spareReady';

/** In a child process: the spec its parent handed over (null if it was not started by mpkit). */
export function receivedSpec(): SpawnSpec | null {
  const json = takeEnv('MPKIT_SPAWN'), file = takeEnv('MPKIT_SPAWN_FILE'); // the child's own children get their own
  if (json) return JSON.parse(json);
  return file ? JSON.parse(builtin('node:fs').readFileSync(file, 'utf8')) : null;
}

const RUN_AS_CHILD = Symbol.for('mpkit.runAsChild');
/** The key of the message a thread sends its starter when its target throws. */
export const THREAD_ERROR = 'mpkit.threadError';

/** In the child: import the module and find the target, with an error that says what to change. */
export async function loadTarget(spec: Pick<SpawnSpec, 'module' | 'source' | 'target' | 'args' | 'shared'>): Promise<{ fn: (...args: unknown[]) => unknown; args: unknown[] }> {
  // mpkit loads first when the arguments hold its objects: each type registers, as its module
  // loads, how it revives.
  if (spec.shared) await import(ownFile('index.ts').href);
  const mod = await importingTarget(spec.source ?? spec.module, () => import(spec.module)) as Record<string, unknown>;
  let fn = mod[spec.target];
  if (typeof fn !== 'function') {
    throw new TypeError(`Target "${spec.target}" is not exported from ${spec.source ?? spec.module}: export it so the child can import it`);
  }
  // A subclass of Process that overrides run() (process.ts): its class makes the instance that runs.
  const runAsChild = (fn as { [RUN_AS_CHILD]?: (fields: unknown) => unknown })[RUN_AS_CHILD];
  if (runAsChild) fn = runAsChild.bind(fn);
  if (!spec.args) return { fn: fn as (...args: unknown[]) => unknown, args: [] };
  const args = loads(Buffer.from(spec.args, 'base64')) as unknown[];
  await revivedWhole();
  return { fn: fn as (...args: unknown[]) => unknown, args };
}

/**
 * A spare (warm.ts) boots before it has a spec: it waits here for the one it is handed, takes the
 * environment and working directory its starter had at start(), and is then that child. A process
 * waits on a queue, asleep in the kernel; a thread for a message, loading nothing meanwhile.
 */
async function spareSpec(encoded: string | true, main: boolean): Promise<SpawnSpec> {
  let handed: Handed;
  if (main) {
    endWithParentThread(); // an idle spare never outlives its parent
    await import(ownFile('index.ts').href); // what revives the queue and event below; targets then find mpkit loaded
    const boot = loads(Buffer.from(encoded as string, 'base64')) as SpareBoot;
    if (process.ppid !== boot.parent) exit(0); // the parent died before the kernel was asked to see to it
    boot.ready.set();
    handed = boot.queue.get();
  } else {
    const port = builtin('node:worker_threads').parentPort!;
    handed = await new Promise((resolve) => {
      port.once('message', resolve);
      port.postMessage({ [THREAD_SPARE_READY]: true });
    });
  }
  if (handed.env) { // changed entries only: each is a setenv or unsetenv
    const env = process.env, next = handed.env;
    for (const name of Object.keys(env)) if (!(name in next)) delete env[name];
    for (const [name, value] of Object.entries(next)) if (env[name] !== value) env[name] = value;
  }
  if (handed.cwd && handed.cwd !== process.cwd()) process.chdir(handed.cwd);
  if (main && !handed.spec.daemon) keepAfterParent();
  return handed.spec;
}

/**
 * What every process and thread mpkit starts runs: import the target's module, call the target,
 * exit. An exception prints its stack to stderr and exits with code 1, as in Python.
 */
export async function runChild(): Promise<void> {
  const main = isMainThread();
  const spare: string | true | undefined = main ? takeEnv('MPKIT_SPARE') : builtin('node:worker_threads').workerData?.spare;
  const spec: SpawnSpec | null = spare ? await spareSpec(spare, main) : main ? receivedSpec() : builtin('node:worker_threads').workerData;
  if (!spec) {
    console.error('mpkit/bootstrap is started by Process and Thread, not by hand');
    exit(2);
  }
  setIdentity(spec.name, spec.parentPid);
  if (spec.program) setProgramModule(spec.program);
  if (main && spec.daemon) await endWithParent(spec);
  try {
    const { fn, args } = await loadTarget(spec);
    await fn(...args);
    if (main) {
      await finished(); // a call the target made and did not await (list.append(1)) still arrives
      exit(0);
    }
  } catch (e) {
    // A thread's error goes to the thread that started it, whose excepthook prints it (threading.ts);
    // the process goes on, as in Python.
    if (!main) return reportToStarter(e);
    console.error(e instanceof Error ? e.stack : e);
    exit(1);
  }
}

/** A thread's error, as a message to the thread that started it (an Error is cloned whole; anything else as text). */
function reportToStarter(e: unknown) {
  const port = builtin('node:worker_threads').parentPort!;
  try { port.postMessage({ [THREAD_ERROR]: e }); } catch { port.postMessage({ [THREAD_ERROR]: String(e) }); }
}

// A daemon process ends with its parent, as in Python: a parent that exits terminates its daemons
// (process.ts), but one killed outright cannot, and a pool's workers would wait on its queue for
// ever. So the kernel is asked to see to it (endWithParentThread), which works even while this
// process's JavaScript is blocked. Its signal comes when the thread that started the child ends:
// for a daemon started from a worker thread, when that thread does, as process.ts's exit hook
// (which runs per thread) would do anyway. Where the kernel cannot, the child watches: once its
// parent is gone it has been handed to another, so its ppid changes, which pid reuse cannot fake.
const WATCH_MS = 250;

async function endWithParent(spec: SpawnSpec) {
  const gone = () => process.ppid !== spec.parentPid;
  if (!endWithParentThread()) {
    const timer = setInterval(() => { if (gone()) process.kill(process.pid, 'SIGTERM'); }, WATCH_MS);
    (timer as { unref?(): void }).unref?.(); // it never keeps a daemon alive by itself
  }
  if (gone()) process.kill(process.pid, 'SIGTERM'); // the parent died before any of that was in place
}
