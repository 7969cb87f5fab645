// Barrier: `parties` threads or processes wait until all have arrived, then all go on. The state
// machine is CPython's threading.Barrier (filling, draining, resetting, broken) kept in shared
// words and driven by a Condition, so parties in different processes meet at the same barrier.
import { allocate, view, type Piece } from '../heap.ts';
import { REDUCE, registerType, revive, whileReviving, type Reduced } from '../reduction.ts';
import { importingTarget } from '../identity.ts';
import { programModule } from '../platform/runtime.ts';
import { moduleURL } from '../spawn.ts';
import { checkTimeout, runAsync, runBlocking, type Waiting } from '../waiting.ts';
import { Condition, WAIT_FOR } from './condition.ts';
import { ATTEMPT, Lock } from './lock.ts';

const STATE = 0, COUNT = 1, PARTIES = 2;
const FILLING = 0, DRAINING = 1, RESETTING = -1, BROKEN = -2;

/** Thrown to every party of a barrier that was aborted, reset, or timed out while they waited. */
export class BrokenBarrierError extends Error {
  override name = 'BrokenBarrierError';
  constructor() { super('The barrier is broken: reset() it before using it again'); }
}

// action: where another process or thread finds the action, to run it if it arrives last.
interface State { piece: Piece; cond: Reduced; timeout: number | null; action: { module: string; name: string } | null }

export interface BarrierOptions {
  /**
   * Called once per round by the last party to arrive, in whichever process or thread that is,
   * before any is released (as in CPython). To cross into another process or thread it must be a
   * named function exported by its module, as a Process target is.
   */
  action?: () => void;
  /** The module that exports `action`; by default the program's main module. */
  module?: string | URL;
  /** The default timeout of wait(), in seconds. */
  timeout?: number | null;
}

export class Barrier {
  readonly #piece: Piece;
  readonly #cond: Condition;
  readonly #words: Int32Array;
  #action?: () => void;
  readonly #actionAt: State['action'];
  readonly #timeout: number | null;

  constructor(parties: number | State, options: BarrierOptions = {}) {
    if (typeof parties === 'object') {
      this.#piece = parties.piece;
      this.#cond = revive(parties.cond) as Condition;
      this.#timeout = parties.timeout;
      this.#actionAt = parties.action;
      if (this.#actionAt) whileReviving(this.#load(this.#actionAt));
    } else {
      if (!Number.isInteger(parties) || parties < 1) throw new RangeError(`A barrier needs a whole number of parties, at least 1, not ${parties}`);
      checkTimeout(options.timeout);
      this.#piece = allocate(16);
      this.#cond = new Condition(new Lock());
      this.#timeout = options.timeout ?? null;
      const { action } = options;
      if (action !== undefined && typeof action !== 'function') throw new TypeError('A barrier\'s action is a function');
      this.#action = action;
      const named = action && action.name && action.name !== 'anonymous' && !/^bound /.test(action.name);
      this.#actionAt = named ? { module: moduleURL(options.module ?? programModule()), name: action.name } : null;
    }
    const v = view(this.#piece);
    this.#words = new Int32Array(v.buffer, v.byteOffset, 4);
    if (typeof parties === 'number') this.#words[PARTIES] = parties;
  }

  get parties(): number { return this.#words[PARTIES]; }
  /** How many parties are waiting now. */
  get nWaiting(): number { return this.#words[STATE] === FILLING ? this.#words[COUNT] : 0; }
  get broken(): boolean { return this.#words[STATE] === BROKEN; }

  *#pass(timeout: number | null): Waiting<number> {
    const w = this.#words;
    // Wait out a previous round that is still draining or being reset.
    yield* this.#condWaitFor(() => w[STATE] !== DRAINING && w[STATE] !== RESETTING, null);
    if (w[STATE] < 0) throw new BrokenBarrierError();
    const index = w[COUNT]++;
    try {
      if (index + 1 === w[PARTIES]) {
        try {
          this.#action?.();
        } catch (e) {
          this.#break();
          throw e;
        }
        w[STATE] = DRAINING;
        this.#cond.notifyAll();
      } else {
        const passed = yield* this.#condWaitFor(() => w[STATE] !== FILLING, timeout);
        if (!passed) {
          this.#break();
          throw new BrokenBarrierError();
        }
        if (w[STATE] < 0) throw new BrokenBarrierError();
      }
      return index;
    } finally {
      // The last party out of a drained or reset round opens the barrier for the next one.
      if (--w[COUNT] === 0 && (w[STATE] === DRAINING || w[STATE] === RESETTING)) {
        w[STATE] = FILLING;
        this.#cond.notifyAll();
      }
    }
  }

  #condWaitFor(predicate: () => boolean, timeout: number | null): Waiting<boolean> {
    return this.#cond[WAIT_FOR](predicate, timeout);
  }

  #break() {
    this.#words[STATE] = BROKEN;
    this.#cond.notifyAll();
  }

  *#run<T>(body: Waiting<T>): Waiting<T> {
    yield* this.#cond[ATTEMPT](true);
    try {
      return yield* body;
    } finally {
      this.#cond.release();
    }
  }

  /** Waits for all parties; returns this party's arrival index (0 to parties - 1). */
  wait(timeout?: number | null): number {
    checkTimeout(timeout);
    return runBlocking(this.#run(this.#pass(timeout ?? this.#timeout)));
  }

  waitAsync(timeout?: number | null): Promise<number> {
    checkTimeout(timeout);
    return runAsync(this.#run(this.#pass(timeout ?? this.#timeout)));
  }

  /** Puts the barrier back to empty; parties waiting now get BrokenBarrierError. */
  reset(): void {
    using _ = this.#cond.hold();
    const w = this.#words;
    if (w[COUNT] === 0) w[STATE] = FILLING;
    else if (w[STATE] !== DRAINING) w[STATE] = RESETTING; // a draining round finishes first
    this.#cond.notifyAll();
  }

  /** Breaks the barrier: parties waiting now, and any that arrive later, get BrokenBarrierError. */
  abort(): void {
    using _ = this.#cond.hold();
    this.#break();
  }

  async #load({ module, name }: NonNullable<State['action']>) {
    const exports = await importingTarget(module, () => import(module)) as Record<string, unknown>;
    const fn = exports[name];
    if (typeof fn !== 'function') throw new TypeError(`The barrier's action "${name}" is not exported from ${module}: export it so other processes and threads can run it`);
    this.#action = fn as () => void;
  }

  [REDUCE](): Reduced {
    if (this.#action && !this.#actionAt) throw new TypeError('A barrier\'s action that is not a named function cannot be sent to another process or thread: export a named function and pass it as the action');
    const state: State = { piece: this.#piece, cond: this.#cond[REDUCE](), timeout: this.#timeout, action: this.#actionAt };
    return { $mpkit: 'Barrier', state };
  }
}

registerType('Barrier', (state: State) => new Barrier(state));
