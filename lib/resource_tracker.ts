// Cleans up after a process that dies, as CPython's resource_tracker does: every segment a process
// creates is registered with a small tracker process, which removes whatever is left when its
// creator ends, however it ends. The tracker leads its own process group so a kill aimed at the
// creator's group does not take the tracker down before it has cleaned up.
import type { ChildProcess } from 'node:child_process';
import { builtin } from './platform/builtins.ts';
import { runtime } from './platform/runtime.ts';
import { ownFile } from './platform/files.ts';

let tracker: ChildProcess | null = null;

function start(): ChildProcess {
  const entry = builtin('node:url').fileURLToPath(ownFile('resource_tracker_main.js'));
  // The creator's pid goes last: the tracker needs it to tell a dead process from a finished thread.
  const args = [...(runtime === 'deno' ? ['run', '-A', entry] : [entry]), String(process.pid)];
  const child = builtin('node:child_process').spawn(process.execPath, args, { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  child.unref();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  return child;
}

function send(line: string) {
  tracker ??= start();
  tracker.stdin!.write(line + '\n');
}

/** The segment `name` is removed when this process ends, unless it is unregistered first. */
export function register(name: string) {
  send(`+${name}`);
}

export function unregister(name: string) {
  send(`-${name}`);
}
