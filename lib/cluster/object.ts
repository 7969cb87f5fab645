// What every cluster object is: a name in one namespace of one Redis, and the Lua scripts that make
// its compound steps atomic. A handle holds nothing else, so any number of them, on any host, name
// the same object, and one inside a value travels as that name (codec.ts).
import type { Redis } from 'ioredis';
import { builtin } from '../platform/builtins.ts';
import { REDUCE } from '../reduction.ts';
import { NAMED, pack, unpack, type Named } from './codec.ts';
import type { Link } from './link.ts';

/** A Lua script, sent once per server and then run by its digest. */
export class Script {
  readonly #lua: string;
  readonly #sha: string;
  constructor(lua: string) {
    this.#lua = lua;
    this.#sha = builtin('node:crypto').createHash('sha1').update(lua).digest('hex');
  }

  async run<T = unknown>(r: Redis, keys: string[], args: (string | number | Buffer)[] = []): Promise<T> {
    try {
      return await r.callBuffer('EVALSHA', this.#sha, keys.length, ...keys, ...args) as T;
    } catch (e) {
      if (!String((e as Error).message).startsWith('NOSCRIPT')) throw e;
      return await r.callBuffer('EVAL', this.#lua, keys.length, ...keys, ...args) as T;
    }
  }
}

/** Turns a name and kind back into a handle: the cluster's factory (cluster.ts). */
export type Revive = (n: Named) => unknown;

export function checkName(kind: string, name: unknown): asserts name is string {
  if (typeof name !== 'string' || !name || name.length > 200) {
    throw new TypeError(`A cluster ${kind} needs a name (1 to 200 characters) that every host uses for it, not ${JSON.stringify(name)}`);
  }
}

export abstract class ClusterObject {
  readonly name: string;
  protected readonly link: Link;
  protected readonly revive: Revive;
  readonly #kind: string;
  readonly #args: unknown[];

  constructor(link: Link, revive: Revive, kind: string, name: string, args: unknown[] = []) {
    checkName(kind, name);
    this.link = link;
    this.revive = revive;
    this.name = name;
    this.#kind = kind;
    this.#args = args;
  }

  /** This object's key, or one of its keys (`part`), in Redis. */
  protected key(part?: string): string {
    return part ? this.link.key(this.#kind, this.name, part) : this.link.key(this.#kind, this.name);
  }

  protected get r(): Redis { return this.link.main; }

  protected pack(v: unknown, root = 'value'): Buffer { return pack(v, root); }
  protected unpack<T>(b: Buffer | null): T { return unpack(b, this.revive) as T; }

  [NAMED](): Named { return { kind: this.#kind, name: this.name, args: this.#args }; }

  // A local process gets no connection of ours: it connects and names the object itself.
  [REDUCE](): never {
    throw new TypeError(`A cluster ${this.#kind} cannot be sent to a local process or thread: send its name, "${this.name}", and call cluster.${this.#kind}() there`);
  }

  toString(): string { return `<cluster ${this.#kind} ${JSON.stringify(this.name)}>`; }
}
