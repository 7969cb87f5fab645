// Values in Redis: msgpack under structured clone's rules (structured.ts), the same bytes a local
// process gets, so a Map stays a Map and a function is refused at the sender, naming where it sat.
// A cluster object (a list, a lock) inside a value travels by its name and comes back as a handle
// on the same object; mpkit's local objects (shared memory, a local lock) cannot leave the machine.
import { codec, prepare, restore } from '../structured.ts';
import { REDUCE } from '../reduction.ts';

/** What a cluster object travels as: its kind, its name, what its factory was given. */
export interface Named { kind: string; name: string; args: unknown[] }
export const NAMED = Symbol.for('mpkit.cluster.named');

interface HasName { [NAMED](): Named }
const isNamed = (v: object): v is HasName => NAMED in v;

const TAG = '$mpkitCluster';

function swapOut(v: object): unknown {
  if (isNamed(v)) { const n = v[NAMED](); return { [TAG]: n.kind, name: n.name, args: n.args }; }
  if (REDUCE in v) throw new TypeError(`a ${v.constructor?.name ?? 'local object'} of this machine: shared memory and mpkit's local locks and queues cannot reach another host; use the cluster's own types`);
  return v;
}

/** `value` as bytes for Redis; a TypeError naming `root` and the place, for what cannot be sent. */
export function pack(value: unknown, root: string | (() => string) = 'value'): Buffer {
  let prepared: unknown;
  try {
    prepared = prepare(value, swapOut, root);
  } catch (e) {
    // A refusal from swapOut names the object but not where it sat; prepare's own name both.
    if (e instanceof TypeError && !e.message.startsWith(typeof root === 'string' ? root : root())) throw new TypeError(`${typeof root === 'string' ? root : root()} holds ${e.message}`);
    throw e;
  }
  return codec().pack(prepared);
}

/** Bytes from Redis as a value, cluster objects in it brought back as handles by `revive`. */
export function unpack(bytes: Buffer | null, revive: (n: Named) => unknown): unknown {
  if (bytes === null) return null;
  return restore(codec().unpack(bytes), (v) => {
    const kind = (v as Record<string, unknown>)[TAG];
    if (typeof kind !== 'string' || Object.getPrototypeOf(v) !== Object.prototype) return v;
    const { name, args } = v as { name: string; args: unknown[] };
    return revive({ kind, name, args });
  });
}

/** Checks that `value` can be sent, without keeping the bytes. */
export function checkSendable(value: unknown, root: string | (() => string)): void {
  prepare(value, swapOut, root);
}
