// Cleans up after a process that dies, as CPython's resource_tracker does: every segment a process
// creates is registered with a small tracker process, which removes whatever is left when its
// creator ends, however it ends. The tracker leads its own process group so a kill aimed at the
// creator's group does not take the tracker down before it has cleaned up.
//
// Registrations go into a file of the creator's, written synchronously, so a segment is known to
// the tracker before `new SharedMemory` returns: a line on the tracker's stdin waited for the event
// loop (on Bun, always), and a process that blocked its loop and was then killed leaked the segment.
// The tracker's stdin is left only to tell it its creator has ended, by closing.
import type { ChildProcess } from 'node:child_process';
import { builtin } from './platform/builtins.ts';
import { runtime } from './platform/runtime.ts';
import { ownFile } from './platform/files.ts';

let tracker: { child: ChildProcess; fd: number; list: string } | null = null;

function start() {
  const { openSync } = builtin('node:fs'), { join } = builtin('node:path');
  // One per thread, in the temporary folder: Deno asks --allow-all to write under /dev.
  const list = join(builtin('node:os').tmpdir(), `mpkit-tracker-${process.pid}-${builtin('node:crypto').randomBytes(4).toString('hex')}`);
  const fd = openSync(list, 'a', 0o600);
  const entry = builtin('node:url').fileURLToPath(ownFile('resource_tracker_main.js'));
  // The creator's pid goes last: the tracker needs it to tell a dead process from a finished thread.
  const args = [...(runtime === 'deno' ? ['run', '-A', entry] : [entry]), list, String(process.pid)];
  const child = builtin('node:child_process').spawn(process.execPath, args, { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  child.unref();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  return { child, fd, list };
}

function send(line: string) {
  tracker ??= start();
  builtin('node:fs').writeSync(tracker.fd, line + '\n');
}

/** The list this thread's tracker reads when it ends: other processes may register segments in it (registerIn). */
export function trackerList(): string {
  tracker ??= start();
  return tracker.list;
}

/**
 * Registers `name` with the tracker whose list is `list` (another thread's or process's), so the
 * segment lives as long as that one does. False if that tracker is gone (its list removed).
 */
export function registerIn(list: string, name: string): boolean {
  const fs = builtin('node:fs');
  let fd: number;
  try { fd = fs.openSync(list, fs.constants.O_WRONLY | fs.constants.O_APPEND); } catch { return false; }
  try { fs.writeSync(fd, `+${name}\n`); } finally { fs.closeSync(fd); }
  return true;
}

/** The segment `name` is removed when this process ends, unless it is unregistered first. */
export function register(name: string) {
  send(`+${name}`);
}

export function unregister(name: string) {
  send(`-${name}`);
}
