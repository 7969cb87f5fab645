// Who holds a copy of each end of a Pipe. In CPython an end is a file descriptor: a process that
// closes its copy closes only that copy, and the other end reads EOF once every process has closed
// its own, or died (the OS closes a dead process's descriptors). Here an end is shared memory, so
// its copies are counted per process: a table of [pid, copies] pairs for each of the two ends.
// A copy sent to another process is counted for the sender until the receiver takes it over, so a
// parent may close its copy right after start() and the child's still counts.
import { allocate, view, type Piece } from '../heap.ts';
import { processEnded } from '../platform/linux.ts';

const SLOTS = 16;
// Per end: SLOTS pairs, then the copies of processes that found no free slot (never counted dead).
const END_WORDS = 2 * SLOTS + 1;
const OVERFLOW = 2 * SLOTS;

export class Holders {
  readonly piece: Piece;
  readonly #w: Int32Array;

  /** A new table, each end held once by this process; or the table in `piece`. */
  constructor(piece?: Piece) {
    this.piece = piece ?? allocate(2 * END_WORDS * 4);
    const v = view(this.piece);
    this.#w = new Int32Array(v.buffer, v.byteOffset, 2 * END_WORDS);
    if (!piece) for (const end of [0, 1] as const) this.add(end, process.pid, 1);
  }

  /** Adds `delta` copies of `end` held by `pid`. */
  add(end: 0 | 1, pid: number, delta: number) {
    const w = this.#w, base = end * END_WORDS;
    for (let i = 0; i < SLOTS; i++) if (Atomics.load(w, base + 2 * i) === pid) { Atomics.add(w, base + 2 * i + 1, delta); return; }
    for (let i = 0; i < SLOTS; i++) {
      const at = base + 2 * i, owner = Atomics.load(w, at);
      // A free slot, or one whose holder has ended or holds nothing: taken by compare-and-swap.
      const free = owner === 0 || (Atomics.load(w, at + 1) <= 0 && owner !== pid) || processEnded(owner);
      if (free && Atomics.compareExchange(w, at, owner, pid) === owner) {
        Atomics.store(w, at + 1, delta);
        return;
      }
    }
    Atomics.add(w, base + OVERFLOW, delta);
  }

  /** How many copies of `end` are held by processes still alive. */
  live(end: 0 | 1): number {
    const w = this.#w, base = end * END_WORDS;
    let copies = Atomics.load(w, base + OVERFLOW);
    for (let i = 0; i < SLOTS; i++) {
      const pid = Atomics.load(w, base + 2 * i), n = Atomics.load(w, base + 2 * i + 1);
      if (pid !== 0 && n > 0 && (pid === process.pid || !processEnded(pid))) copies += n;
    }
    return copies;
  }
}
