// What manager clients and servers say to each other. Requests are [seq, op, ...operands]; replies
// are tagged, as CPython's are: [seq, '#RETURN', value] or [seq, '#ERROR', {name, message, stack}].
// Values are msgpack (msgpackr), under structured clone's rules (structured.ts): the same bytes from Node, Deno and Bun, several times faster than
// JSON for structured data, and decoding builds plain data only, never runs code, unlike pickle.
// A managed object inside a value travels as a reference (extension type 0x4d), which the server
// turns back into the object and a client into a proxy.
import { builtin } from '../platform/builtins.ts';
import type { RemoteErrorData } from '../remote.ts';
import { codec as structuredCodec, prepare, restore } from '../structured.ts';

export type Op = 'create' | 'call' | 'lend' | 'claim' | 'decref' | 'shutdown' | 'ping' | 'hello';
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

/** What one side holds in place of a Ref (the server: the object; a client: a proxy), and back. */
export interface RefHandlers {
  toRef(value: unknown): Ref | null;
  fromRef(ref: Ref): unknown;
}

let registered = false;

function codec(borrowed = false) {
  const packr = structuredCodec(borrowed);
  if (registered) return packr;
  const msgpackr = builtin('node:module').createRequire(import.meta.url)('msgpackr') as typeof import('msgpackr');
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
  registered = true;
  return packr;
}

/**
 * A request or reply as bytes. Its last element is what the user gave (a call's arguments, a
 * method's result), which a refusal names as `root` (structured.ts: prepare).
 */
export function encode(message: unknown[], handlers: RefHandlers, root = 'args'): Uint8Array {
  return codec().pack(prepare(message, (v) => handlers.toRef(v) ?? v, root, 1));
}

/**
 * Decodes bytes[start, end): the whole of `bytes` unless told. Nothing decoded points into `bytes`,
 * which may be a segment a lane removes right after.
 */
export function decode(bytes: Uint8Array, handlers: RefHandlers, start?: number, end?: number): unknown {
  const message = start === undefined ? codec(true).unpack(bytes) : codec(true).unpack(bytes, { start, end });
  return restore(message, (v) => (isRef(v) ? handlers.fromRef(v) : v));
}
