// The resource tracker's own process: it reads "+name" and "-name" lines on stdin and, when stdin
// closes (its creator ended: normally, by an exception, by SIGTERM or by SIGKILL), removes every
// segment still registered. Plain JavaScript with no imports beyond node:, so it starts fast
// on every runtime.
import { unlinkSync } from 'node:fs';

const live = new Set();
let pending = '';
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
  for (const name of live) {
    try { unlinkSync(`/dev/shm/${name}`); } catch { /* already removed */ }
  }
  process.exit(0);
});
