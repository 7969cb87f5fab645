// What manager clients and servers say to each other. Requests are [seq, op, ...operands]; replies
// are tagged, as CPython's are: [seq, '#RETURN', value] or [seq, '#ERROR', {name, message, stack}].
// Values are msgpack (msgpackr): the same bytes from Node, Deno and Bun, several times faster than
// JSON for structured data, and decoding builds plain data only, never runs code, unlike pickle.
// A managed object inside a value travels as a reference (extension type 0x4d), which the server
// turns back into the object and a client into a proxy.
import { builtin } from '../platform/builtins.ts';
import type { RemoteErrorData } from '../remote.ts';

export type Op = 'create' | 'call' | 'incref' | 'decref' | 'shutdown' | 'ping' | 'lanes';
export type Request = [seq: number, op: Op, ...operands: unknown[]];
export type Reply = [seq: number, tag: '#RETURN', value: unknown] | [seq: number, tag: '#ERROR', error: RemoteErrorData];

// msgpackr's extensions are global to it, so where two copies of mpkit share one msgpackr (a
// program and a library each bundling their own), decoding makes the Ref of whichever copy
// registered last: a Ref is known by this brand, not by its class.
const BRAND = Symbol.for('mpkit.ref');

/** A managed object named inside a message. */
export class Ref {
  readonly id: number;
  readonly typeid: string;
  readonly [BRAND] = true;
  constructor(id: number, typeid: string) {
    this.id = id;
    this.typeid = typeid;
  }
}

const isRef = (v: unknown): v is Ref => typeof v === 'object' && v !== null && (v as { [BRAND]?: boolean })[BRAND] === true;

// msgpack has no -0 (msgpackr writes it as the integer 0): it travels as an extension of its own.
class NegativeZero {}
const NEGATIVE_ZERO = new NegativeZero();

type Packr = import('msgpackr').Packr;
let packr: Packr | null = null;

/** What one side holds in place of a Ref (the server: the object; a client: a proxy), and back. */
export interface RefHandlers {
  toRef(value: unknown): Ref | null;
  fromRef(ref: Ref): unknown;
}

function codec(): Packr {
  if (packr) return packr;
  const msgpackr = builtin('node:module').createRequire(import.meta.url)('msgpackr') as typeof import('msgpackr');
  packr = new msgpackr.Packr({ useRecords: false, structuredClone: true, useBigIntExtension: true });
  msgpackr.addExtension({
    type: 0x4d,
    Class: Ref,
    pack: (ref: Ref) => Buffer.from(JSON.stringify([ref.id, ref.typeid])),
    unpack: (bytes: Uint8Array) => {
      const [id, typeid] = JSON.parse(new TextDecoder().decode(bytes)); // a Buffer or a bare Uint8Array
      if (!Number.isInteger(id) || typeof typeid !== 'string') throw new TypeError('A malformed object reference');
      return new Ref(id, typeid);
    },
  });
  msgpackr.addExtension({ type: 0x4e, Class: NegativeZero, pack: () => Buffer.alloc(0), unpack: () => -0 });
  return packr;
}

const plain = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;

/** Applies `swap` to every value inside arrays and plain objects, deeply, copying only what changes. */
function walk(value: unknown, swap: (v: unknown) => unknown): unknown {
  const swapped = swap(value);
  if (swapped !== value || typeof value !== 'object' || value === null) return swapped;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v = value[i], w = walk(v, swap);
      if (w !== v) (copy ??= value.slice())[i] = w;
    }
    return copy ?? value;
  }
  if (plain(value)) {
    let copy: Record<string, unknown> | null = null;
    for (const k in value) {
      const v = value[k], w = walk(v, swap);
      if (w !== v) (copy ??= { ...value })[k] = w;
    }
    return copy ?? value;
  }
  return value;
}

export function encode(message: unknown, handlers: RefHandlers): Uint8Array {
  return codec().pack(walk(message, (v) => (v === 0 && 1 / v < 0 ? NEGATIVE_ZERO : handlers.toRef(v) ?? v)));
}

/** Decodes bytes[start, end): the whole of `bytes` unless told. */
export function decode(bytes: Uint8Array, handlers: RefHandlers, start?: number, end?: number): unknown {
  const message = start === undefined ? codec().unpack(bytes) : codec().unpack(bytes, { start, end });
  return walk(message, (v) => (isRef(v) ? handlers.fromRef(v) : v));
}
