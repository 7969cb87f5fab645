// Who is calling, on the server: each client connection is a Caller. A method reads the caller
// synchronously when it starts (the dispatcher sets it around the call), so locks know their owner
// and can be released when that client goes away, which CPython does not do (gh-88304).
/** What one request may ask of a server; options of the manager (ManagerOptions). */
export interface Limits {
  /** The largest request or reply, in bytes. */
  maxFrameBytes: number;
  /** The most items one list, Array or queue may hold. */
  maxItems: number;
}

export class Caller {
  #cleanups = new Set<() => void>();
  closed = false;
  readonly limits: Limits;

  constructor(limits: Limits) { this.limits = limits; }

  /** Runs `fn` when this client disconnects, unless the returned function is called first. */
  onClose(fn: () => void): () => void {
    this.#cleanups.add(fn);
    return () => this.#cleanups.delete(fn);
  }

  close() {
    this.closed = true;
    for (const fn of [...this.#cleanups]) fn();
    this.#cleanups.clear();
  }
}

let current: Caller | null = null;

export function withCaller<T>(caller: Caller, fn: () => T): T {
  current = caller;
  try { return fn(); } finally { current = null; }
}

export function caller(): Caller {
  if (!current) throw new Error('A manager method was called outside a request');
  return current;
}

/** Sleepers on one condition of a server object; a wait ends when woken, timed out, or its caller leaves. */
export class Waiters {
  #sleepers = new Set<() => void>();

  /** Resolves true when woken, false after `timeout` seconds (null: never) or if `who` disconnects. */
  wait(who: Caller, timeout: number | null | undefined): Promise<boolean> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const end = (woken: boolean) => {
        this.#sleepers.delete(wake);
        clearTimeout(timer);
        forget();
        resolve(woken);
      };
      const wake = () => end(true);
      const forget = who.onClose(() => end(false));
      this.#sleepers.add(wake);
      if (timeout != null) timer = setTimeout(() => end(false), Math.max(0, timeout) * 1000);
    });
  }

  wakeOne() {
    const [first] = this.#sleepers;
    first?.();
  }

  wakeAll() {
    for (const wake of [...this.#sleepers]) wake();
  }
}
