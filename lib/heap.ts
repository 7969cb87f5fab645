// The shared arena that Value, Array and the locks live in: segments of POSIX shared memory,
// handed out in aligned pieces. A piece is named by (segment, offset), which is all another
// process needs to map the same memory. Segments are registered with the resource tracker.
import { mapSegment, unlinkSegment, type Mapping } from './platform/linux.ts';
import { register, unregister } from './resource_tracker.ts';

export interface Piece {
  segment: string; // the name without its leading slash, as Python shows it
  offset: number;
  size: number;
}

const ARENA = 64 * 1024;
const ALIGN = 16;
const mapped = new Map<string, Mapping>();
let arena: { name: string; used: number; size: number } | null = null;

/** A new random name, under the pid of the process whose tracker will remove it (by default this one). */
export function newSegmentName(pid = process.pid): string {
  // Web Crypto is a global everywhere: no node:crypto to load in every child.
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return `mpkit_${pid}_${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** Maps a segment once per process; every piece of it shares that mapping. */
export function segment(name: string, create = false, size = 0): Mapping {
  let m = mapped.get(name);
  if (!m) {
    m = mapSegment(`/${name}`, create, size);
    mapped.set(name, m);
  }
  return m;
}

/** A fresh, zeroed piece of shared memory of `size` bytes. */
export function allocate(size: number): Piece {
  const need = Math.ceil(Math.max(size, 1) / ALIGN) * ALIGN;
  if (need > ARENA / 4) {
    const name = newSegmentName();
    segment(name, true, need);
    register(name);
    return { segment: name, offset: 0, size };
  }
  if (!arena || arena.used + need > arena.size) {
    arena = { name: newSegmentName(), used: 0, size: ARENA };
    segment(arena.name, true, ARENA);
    register(arena.name);
  }
  const piece = { segment: arena.name, offset: arena.used, size };
  arena.used += need;
  return piece;
}

/** The bytes of a piece, and the address of its first byte (for futexes). */
export function view(piece: Piece): { buffer: ArrayBuffer; byteOffset: number; address: bigint } {
  const m = segment(piece.segment);
  if (piece.offset + piece.size > m.size) throw new RangeError(`Piece ${piece.segment}+${piece.offset} lies outside its segment`);
  return { buffer: m.buffer, byteOffset: piece.offset, address: m.address + BigInt(piece.offset) };
}

/**
 * Fresh pieces of the given sizes, all in one segment of their own, which freeSegment() can then
 * remove whole: for what one party makes and ends on its own (a manager client's reply queue).
 */
export function allocateAlone(sizes: number[]): Piece[] {
  const name = newSegmentName();
  const offsets: number[] = [];
  let end = 0;
  for (const size of sizes) { offsets.push(end); end += Math.ceil(Math.max(size, 1) / ALIGN) * ALIGN; }
  segment(name, true, end);
  register(name);
  return sizes.map((size, i) => ({ segment: name, offset: offsets[i], size }));
}

/** Unmaps a segment here, or removes its name (for one this process made), or both. */
export function freeSegment(name: string, how: 'unmap' | 'unlink' | 'unmap and unlink') {
  if (how !== 'unlink') {
    mapped.get(name)?.unmap();
    mapped.delete(name);
  }
  if (how === 'unmap') return;
  try { unlinkSegment(`/${name}`); } catch { /* gone already */ }
  unregister(name);
}
