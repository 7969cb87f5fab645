// The resource tracker's own process: it reads "+name" and "-name" lines on stdin and, when stdin
// closes (its creator ended: normally, by an exception, by SIGTERM or by SIGKILL), removes every
// segment still registered. Plain JavaScript with no imports beyond node:, so it starts fast
// on every runtime.
//
// A line written just before a SIGKILL may never arrive (the creator's write is asynchronous), so
// when the creator's whole process is gone the tracker also removes the segments named after its
// pid (heap.ts: mpkit_<pid>_...) that existed by then; later ones belong to whoever has the pid now.
import { readdirSync, statSync, unlinkSync } from 'node:fs';

const creator = Number(process.argv.at(-1));
const live = new Set();
let pending = '';

function alive(pid) {
  try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; }
}

function remove(name) {
  try { unlinkSync(`/dev/shm/${name}`); } catch { /* already removed */ }
}

process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const lines = (pending + chunk).split('\n');
  pending = lines.pop();
  for (const line of lines) {
    if (line.startsWith('+')) live.add(line.slice(1));
    else if (line.startsWith('-')) live.delete(line.slice(1));
  }
});
process.stdin.on('end', () => {
  const ended = Date.now();
  for (const name of live) remove(name);
  // A thread's tracker ends with its thread, while the process and its segments live on.
  if (Number.isInteger(creator) && creator > 0 && !alive(creator)) {
    const prefix = `mpkit_${creator}_`;
    for (const name of readdirSync('/dev/shm')) {
      try { if (name.startsWith(prefix) && statSync(`/dev/shm/${name}`).ctimeMs <= ended) remove(name); } catch { /* gone meanwhile */ }
    }
  }
  process.exit(0);
});
