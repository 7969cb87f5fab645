// The resource tracker's own process: when its stdin closes (its creator ended: normally, by an
// exception, by SIGTERM or by SIGKILL), it reads the creator's list of "+name" and "-name" lines
// (resource_tracker.ts) and removes every segment still registered, then the list. Plain
// JavaScript with no imports beyond node:, so it starts fast on every runtime.
//
// When the creator's whole process is gone (not just the thread that started this tracker), the
// tracker also removes the segments named after its pid (heap.ts: mpkit_<pid>_...) that existed by
// then; later ones belong to whoever has the pid now.
import { readFileSync, readdirSync, statSync, unlinkSync } from 'node:fs';

const list = process.argv.at(-2);
const creator = Number(process.argv.at(-1));

/** Alive and not a zombie: a killed process stays one until its parent reaps it, and has ended all the same. */
function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function remove(name) {
  try { unlinkSync(`/dev/shm/${name}`); } catch { /* already removed */ }
}

process.stdin.on('data', () => { /* nothing is sent: the end is the message */ });
process.stdin.on('end', () => {
  const ended = Date.now();
  const live = new Set();
  let lines = [];
  try { lines = readFileSync(list, 'utf8').split('\n'); } catch { /* no segment was ever registered */ }
  for (const line of lines) {
    if (line.startsWith('+')) live.add(line.slice(1));
    else if (line.startsWith('-')) live.delete(line.slice(1));
  }
  for (const name of live) remove(name);
  try { unlinkSync(list); } catch { /* gone */ }
  // A thread's tracker ends with its thread, while the process and its segments live on.
  if (Number.isInteger(creator) && creator > 0 && !alive(creator)) {
    const prefix = `mpkit_${creator}_`;
    for (const name of readdirSync('/dev/shm')) {
      try { if (name.startsWith(prefix) && statSync(`/dev/shm/${name}`).ctimeMs <= ended) remove(name); } catch { /* gone meanwhile */ }
    }
  }
  process.exit(0);
});
