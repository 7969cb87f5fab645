// Named blocks of shared memory, and ShareableList, laid out byte for byte as CPython's
// multiprocessing.shared_memory lays them out, so a block made by Python opens here by name and
// the other way round. A block this process creates is registered with the resource tracker and
// removed when the process ends, unless it is unlinked first.
import { mapSegment, unlinkSegment, OSError, type Mapping } from './platform/linux.ts';
import { register, unregister } from './resource_tracker.ts';
import { REDUCE, registerType, type Reduced } from './reduction.ts';
import { indexable } from './indexing.ts';
import { newSegmentName } from './heap.ts';

export interface SharedMemoryOptions {
  /** The block's name, without the leading slash (as Python shows it). Random when creating without one. */
  name?: string;
  create?: boolean;
  /** Bytes, for a new block. */
  size?: number;
}

function opened(name: string, create: boolean, size: number): Mapping {
  try {
    return mapSegment(`/${name}`, create, size);
  } catch (e) {
    if (e instanceof OSError && e.code === 'ENOENT') {
      throw new OSError(`No shared memory block is named "${name}" (never made, or unlinked): check the name, or pass create: true`, e.errno, true);
    }
    if (e instanceof OSError && e.code === 'EEXIST') {
      throw new OSError(`A shared memory block named "${name}" exists already: open it without create, or pick another name`, e.errno, true);
    }
    throw e;
  }
}

export class SharedMemory implements Disposable {
  readonly name: string;
  readonly size: number;
  #mapping: Mapping | null;
  #buf: Uint8Array;
  readonly #created: boolean;

  constructor(options: SharedMemoryOptions | string) {
    const { name, create = false, size = 0 } = typeof options === 'string' ? { name: options } : options ?? {};
    if (!create && !name) throw new TypeError('Give the name of a block to open, or create: true to make one');
    if (create && (!Number.isInteger(size) || size < 1)) throw new RangeError(`A new SharedMemory needs a size of at least 1 byte, not ${size}`);
    if (name !== undefined && (typeof name !== 'string' || !/^[^/\0]{1,250}$/.test(name))) {
      throw new TypeError(`A block's name is 1 to 250 characters with no "/", not ${JSON.stringify(name)}`);
    }
    this.name = name ?? newSegmentName();
    this.#mapping = opened(this.name, create, size);
    if (create) register(this.name);
    this.#created = create;
    this.size = this.#mapping.size;
    this.#buf = new Uint8Array(this.#mapping.buffer);
  }

  /** The block's bytes (Python's buf). */
  get buf(): Uint8Array {
    if (!this.#mapping) throw new Error(`SharedMemory "${this.name}" is closed: open it again by name to use it`);
    return this.#buf;
  }

  /** Ends this object's access to the block; the block itself stays until unlinked. */
  close(): void {
    this.#mapping?.unmap();
    this.#mapping = null;
  }

  /** Removes the block's name, once, from one process; those that mapped it keep their memory. */
  unlink(): void {
    unlinkSegment(`/${this.name}`);
    if (this.#created) unregister(this.name);
  }

  [Symbol.dispose]() {
    this.close();
  }

  toString() { return `SharedMemory('${this.name}', size=${this.size})`; }
  [REDUCE](): Reduced { return { $mpkit: 'SharedMemory', state: this.name }; }
}

// --- ShareableList: CPython's layout -------------------------------------------------------------
// int64 length n | n + 1 int64 cumulative slot offsets | the slots (8 bytes for a number, bool or
// None; a multiple of 8 for text and bytes) | n 8-byte struct formats | n 1-byte type codes.

export type Shareable = number | bigint | boolean | string | Uint8Array | null;

const INT = 'q', FLOAT = 'd', BOOL = 'xxxxxxx?', NONE = 'xxxxxx?x';
const AS_IS = 0, TEXT = 1, BYTES = 2, NOTHING = 3;
const utf8 = new TextEncoder(), fromUtf8 = new TextDecoder();

function encoded(v: Shareable): Uint8Array | null {
  return typeof v === 'string' ? utf8.encode(v) : v instanceof Uint8Array ? v : null;
}

function slotFor(v: Shareable): number {
  const bytes = encoded(v);
  return bytes ? 8 * (Math.floor(bytes.length / 8) + 1) : 8;
}

function checkItem(v: unknown, at: number): asserts v is Shareable {
  const ok = v === null || ['number', 'bigint', 'boolean', 'string'].includes(typeof v) || v instanceof Uint8Array;
  if (!ok) throw new TypeError(`Item ${at} is a ${typeof v}: a ShareableList holds numbers, bigints, booleans, strings, Uint8Arrays and null`);
}

export class ShareableList<T extends Shareable = Shareable> {
  readonly shm: SharedMemory;
  readonly #data: DataView;
  readonly #bytes: Uint8Array;
  readonly #offsets: number[];
  [index: number]: T;

  /** A new list of `sequence` in a new block; or, with `sequence` null and a name, the list in that block. */
  constructor(sequence?: Iterable<NoInfer<T>> | null, { name }: { name?: string } = {}) {
    if (sequence == null && name !== undefined) {
      this.shm = new SharedMemory({ name });
    } else {
      const items = [...(sequence ?? [])];
      items.forEach(checkItem);
      const offsets = [0];
      for (const v of items) offsets.push(offsets[offsets.length - 1] + slotFor(v));
      const n = items.length;
      this.shm = new SharedMemory({ name, create: true, size: 8 * (n + 2) + offsets[n] + 9 * n });
      const header = new DataView(this.shm.buf.buffer, this.shm.buf.byteOffset);
      header.setBigInt64(0, BigInt(n), true);
      offsets.forEach((o, i) => header.setBigInt64(8 + 8 * i, BigInt(o), true));
    }
    this.#bytes = this.shm.buf;
    this.#data = new DataView(this.#bytes.buffer, this.#bytes.byteOffset, this.#bytes.byteLength);
    const n = this.length;
    this.#offsets = Array.from({ length: n + 1 }, (_, i) => Number(this.#data.getBigInt64(8 + 8 * i, true)));
    if (sequence != null) [...sequence].forEach((v, i) => this.#write(i, v, ''));
    return indexable(this);
  }

  get length(): number {
    return Number(this.#data.getBigInt64(0, true));
  }

  #at(i: number): number {
    const at = i < 0 ? this.length + i : i;
    if (!Number.isInteger(at) || at < 0 || at >= this.length) throw new RangeError(`Index ${i} is out of range for a ShareableList of ${this.length}`);
    return at;
  }

  #formatsAt(): number { return 8 * (this.length + 2) + this.#offsets[this.length]; }
  #slot(i: number): number { return 8 * (this.length + 2) + this.#offsets[i]; }

  /** The struct format of item i, as Python stores it. */
  #format(i: number): string {
    const at = this.#formatsAt() + 8 * i;
    let end = at;
    while (end < at + 8 && this.#bytes[end] !== 0) end++;
    return String.fromCharCode(...this.#bytes.subarray(at, end));
  }

  get(i: number): T {
    const at = this.#at(i);
    const fmt = this.#format(at), slot = this.#slot(at);
    const code = this.#bytes[this.#formatsAt() + 8 * this.length + at];
    if (fmt === INT) {
      const big = this.#data.getBigInt64(slot, true);
      return (big >= Number.MIN_SAFE_INTEGER && big <= Number.MAX_SAFE_INTEGER ? Number(big) : big) as T;
    }
    if (fmt === FLOAT) return this.#data.getFloat64(slot, true) as T;
    if (fmt === BOOL) return (this.#bytes[slot + 7] !== 0) as T;
    if (fmt === NONE || code === NOTHING) return null as T;
    let end = slot + Number.parseInt(fmt, 10);
    while (end > slot && this.#bytes[end - 1] === 0) end--; // Python strips trailing NULs too
    const raw = this.#bytes.slice(slot, end);
    return (code === TEXT ? fromUtf8.decode(raw) : raw) as T;
  }

  set(i: number, v: T): void {
    checkItem(v, i);
    const at = this.#at(i);
    this.#write(at, v, this.#format(at));
  }

  #write(i: number, v: Shareable, current: string): void {
    const slot = this.#slot(i), room = this.#offsets[i + 1] - this.#offsets[i];
    const bytes = encoded(v);
    let fmt: string;
    // What cannot be written is refused before anything is: the item keeps its old value, as in CPython.
    if (bytes && bytes.length > room) throw new RangeError(`Item ${i} has room for ${room} bytes, not ${bytes.length}: a ShareableList cannot grow an item`);
    const whole = typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v) && current !== FLOAT && Number.isSafeInteger(v)) ? BigInt(v) : null;
    if (whole !== null && BigInt.asIntN(64, whole) !== whole) throw new RangeError(`Item ${i} does not fit 64 bits: ${whole}`);
    this.#bytes.fill(0, slot, slot + (bytes ? room : 8));
    if (bytes) {
      fmt = current.endsWith('s') ? current : `${room}s`;
      this.#bytes.set(bytes, slot);
    } else if (v === null) {
      fmt = NONE;
    } else if (typeof v === 'boolean') {
      fmt = BOOL;
      this.#bytes[slot + 7] = v ? 1 : 0;
    } else if (whole !== null) {
      // A whole number is Python's int, unless the item already holds a float (1.0 stays a float).
      fmt = INT;
      this.#data.setBigInt64(slot, whole, true);
    } else {
      fmt = FLOAT;
      this.#data.setFloat64(slot, v as number, true);
    }
    const formats = this.#formatsAt();
    this.#bytes.fill(0, formats + 8 * i, formats + 8 * i + 8);
    for (let k = 0; k < fmt.length; k++) this.#bytes[formats + 8 * i + k] = fmt.charCodeAt(k);
    const code = typeof v === 'string' ? TEXT : v instanceof Uint8Array ? BYTES : v === null ? NOTHING : AS_IS;
    this.#bytes[formats + 8 * this.length + i] = code;
  }

  /** Every item's struct format, joined (Python's format). */
  get format(): string {
    return Array.from({ length: this.length }, (_, i) => this.#format(i)).join('');
  }

  toArray(): T[] { return Array.from({ length: this.length }, (_, i) => this.get(i)); }
  [Symbol.iterator]() { return this.toArray()[Symbol.iterator](); }
  count(v: T): number { return this.toArray().filter((x) => same(x, v)).length; }

  index(v: T): number {
    const at = this.toArray().findIndex((x) => same(x, v));
    if (at < 0) throw new RangeError(`${String(v)} is not in the ShareableList`);
    return at;
  }

  /** Python's repr, so both sides print a list the same way. */
  toString() { return `ShareableList([${this.toArray().map(repr).join(', ')}], name='${this.shm.name}')`; }
  [REDUCE](): Reduced { return { $mpkit: 'ShareableList', state: this.shm.name }; }
}

function repr(v: Shareable): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'string') return `'${v}'`;
  if (v instanceof Uint8Array) return `b'${[...v].map((b) => (b >= 32 && b < 127 && b !== 39 && b !== 92 ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('')}'`;
  return String(v);
}

function same(a: Shareable, b: Shareable): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return a.length === b.length && a.every((x, i) => x === b[i]);
  return a === b;
}

registerType('SharedMemory', (name: string) => new SharedMemory({ name }));
registerType('ShareableList', (name: string) => new ShareableList(null, { name }));
