// A client's side of a manager: one connection per manager per thread, shared by every proxy, with
// many requests in flight at once (each reply names its request). When the server goes away, every
// call still waiting fails at once with an error that says so.
import { connect, describe, type Address, type FramedSocket } from '../connection/socket.ts';
import { rethrown, type RemoteErrorData } from '../remote.ts';
import { decode, encode, type Op, type Ref, type RefHandlers } from './wire.ts';
import type { Reduced } from '../reduction.ts';
import { Lane, type LaneOffer } from './lanes.ts';
import { finishBeforeExit } from '../identity.ts';
import { TimeoutError } from '../waiting.ts';
import { processEnded, processStopped } from '../platform/linux.ts';
import type { Limits } from './caller.ts';

/** What the server tells a client that connects (the 'hello' request). */
interface Hello { pid: number; limits: Limits; lane: LaneOffer | null }

/** How a call may be made: a name for errors, and how long to wait for its reply (seconds; null: forever). */
export interface CallOptions { what?: string; timeout?: number | null }

interface Waiter { resolve(v: unknown): void; reject(e: Error): void; timer?: ReturnType<typeof setTimeout> }

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const PROBE_EVERY = 256;

/** The server is gone: it shut down, or its process died. */
export class ManagerGoneError extends Error {
  override name = 'ManagerGoneError';
}

export class Client {
  readonly address: Address;
  readonly key: Uint8Array;
  #conn: FramedSocket | null = null;
  #lane: Lane | null = null;
  #connecting: Promise<FramedSocket> | null = null;
  #queued: { seq: number; frame: Uint8Array; what: string }[] = [];
  #seq = 0;
  #waiting = new Map<number, Waiter>();
  #idle: (() => void)[] = [];
  #gone: Error | null = null;
  #hello: Hello | null = null;
  refs: RefHandlers;
  /** Seconds a call waits for its reply before it fails with TimeoutError; null: forever, as in Python. */
  timeout: number | null = null;

  constructor(address: Address, key: Uint8Array, refs: RefHandlers) {
    this.address = address;
    this.key = key;
    this.refs = refs;
    finishBeforeExit(() => this.idle());
  }

  // The Transport of mpkit's proxies (proxies.ts).
  call(ref: Ref, method: string, args: unknown[], options: CallOptions): Promise<unknown> {
    return this.requestWith(options, 'call', ref.id, method, args);
  }

  release(ref: Ref): void {
    this.tell('decref', ref.id);
  }

  reduce(ref: Ref): Reduced {
    // The receiver's proxy needs a reference of its own, counted now, before this one can go away;
    // it stays the server's until the receiver claims it, so the sender may exit at once.
    this.tell('lend', ref.id);
    const state = { address: this.address, key: Buffer.from(this.key).toString('base64'), id: ref.id, typeid: ref.typeid, timeout: this.timeout };
    return { $mpkit: 'Proxy', state };
  }

  /** Resolves once no call waits for its reply: each has its answer, or failed with the connection. */
  idle(): Promise<void> {
    return this.#waiting.size === 0 ? Promise.resolve() : new Promise((resolve) => this.#idle.push(resolve));
  }

  #open(): Promise<FramedSocket> {
    this.#connecting ??= connect(this.address, this.key).then(async (conn) => {
      this.#read(conn);
      // On this machine (a Unix socket), requests and replies then go through shared memory.
      const hello = this.#hello = await this.#ask(conn, 'hello', typeof this.address === 'string', process.pid) as Hello;
      conn.limit(hello.limits.maxFrameBytes); // replies may be as big as the server allows
      if (hello.lane) {
        this.#lane = new Lane(hello.lane, hello.pid, (bytes, start, end) => this.#deliver(bytes, start, end), () => this.#waiting.size > 0, (e) => this.#fail(new ManagerGoneError(`The manager at ${describe(this.address)} takes no more requests (it is shutting down): start it again to go on`, { cause: e })));
      }
      this.#conn = conn;
      this.#keepAlive();
      for (const { seq, frame, what } of this.#queued.splice(0)) if (this.#fits(seq, frame, what)) this.#send(frame);
      return conn;
    }).catch((e) => {
      this.#fail(e);
      throw e;
    });
    return this.#connecting;
  }

  #ask(conn: FramedSocket, op: Op, ...operands: unknown[]): Promise<unknown> {
    const seq = ++this.#seq;
    const reply = new Promise((resolve, reject) => this.#wait(seq, { resolve, reject }));
    conn.sendBytes(encode([seq, op, ...operands], this.refs));
    return reply;
  }

  /** Whether the request fits the server's frame limit; if not, its call fails saying so. */
  #fits(seq: number, frame: Uint8Array, what: string): boolean {
    const max = this.#hello?.limits.maxFrameBytes;
    if (max === undefined || frame.length <= max) return true;
    this.#settle(seq)?.reject(new RangeError(`The request ${what} is ${frame.length} bytes, over the manager's limit of ${max} (maxFrameBytes): send less at once, or start the manager with a larger maxFrameBytes`));
    return false;
  }

  #send(frame: Uint8Array) {
    try {
      if (this.#lane && this.#byLane()) this.#lane.send(frame);
      else this.#conn!.sendBytes(frame);
    } catch (e) {
      this.#fail(e as Error);
    }
  }

  // Which way a request goes when a lane is open. The lane wins while replies come within its watch
  // (one client, or a few, on a machine with a core to spare). When they stop coming in time (many
  // clients on few cores), waiting on the lane costs a wake-up of a helper thread and then of this
  // one, where the socket's reply wakes this thread alone; 50 clients on 2 cores: 396 µs a call
  // on the lane, 266 on the socket. The way changes only when no other call is in flight, so
  // requests stay in order; every PROBE_EVERY calls on the socket, one tries the lane again.
  #onSocket = 0; // calls sent on the socket since the lane last fell behind; 0: on the lane

  #byLane(): boolean {
    if (this.#waiting.size > 1) return this.#onSocket === 0; // calls in flight: keep their way
    if (this.#onSocket === 0) {
      if (!this.#lane!.behind) return true;
      this.#onSocket = 1;
      return false;
    }
    if (++this.#onSocket <= PROBE_EVERY) return false;
    this.#onSocket = 0;
    this.#lane!.retry();
    return true;
  }

  #read(conn: FramedSocket) {
    conn.onFrames((frame) => this.#deliver(frame), (e) => {
      this.#lane?.close();
      this.#fail(new ManagerGoneError(`The manager at ${describe(this.address)} is gone (it shut down, or its process died): start it again to go on`, { cause: e }));
    });
  }

  /** Takes the reply in frame[start, end). */
  #deliver(frame: Uint8Array, start = 0, end = frame.length) {
    let seq: number, tag: string, value: unknown;
    try {
      [seq, tag, value] = decode(frame, this.refs, start, end) as [number, string, unknown];
    } catch (e) {
      this.#conn?.close();
      this.#fail(new ManagerGoneError(`The manager at ${describe(this.address)} sent a reply that cannot be read`, { cause: e }));
      return;
    }
    const waiter = this.#settle(seq); // none: the call timed out, and its late reply is dropped
    if (tag === '#RETURN') waiter?.resolve(value);
    else waiter?.reject(rethrown(value as RemoteErrorData, 'the manager server'));
  }

  /** The waiter of call `seq`, no longer waiting. */
  #settle(seq: number): Waiter | undefined {
    const waiter = this.#waiting.get(seq);
    if (!waiter) return undefined;
    clearTimeout(waiter.timer);
    this.#waiting.delete(seq);
    if (this.#waiting.size === 0) this.#keepAlive();
    return waiter;
  }

  #fail(e: Error) {
    this.#gone ??= e;
    for (const w of this.#waiting.values()) { clearTimeout(w.timer); w.reject(this.#gone); }
    this.#waiting.clear();
    this.#keepAlive();
  }

  #wait(seq: number, waiter: Waiter, what = '', timeout: number | null = null) {
    this.#waiting.set(seq, waiter);
    if (timeout !== null) waiter.timer = setTimeout(() => this.#settle(seq)?.reject(this.#timedOut(what, timeout)), timeout * 1000);
    if (this.#waiting.size === 1) this.#keepAlive();
  }

  // A dead server closes the socket, and every call fails at once (ManagerGoneError). A server
  // that is alive but silent only shows as time passing: say which it is, where this machine can tell.
  #timedOut(what: string, timeout: number): TimeoutError {
    const pid = this.#hello?.pid;
    const local = typeof this.address === 'string' || LOOPBACK.has(this.address.host);
    const state = pid === undefined || !local ? `the server at ${describe(this.address)} keeps the connection open but does not answer: it is busy, stopped, or its machine cannot be reached`
      : processEnded(pid) ? `its server (pid ${pid}) has ended`
      : processStopped(pid) ? `its server (pid ${pid}) is stopped (SIGSTOP, or a debugger) and answers once resumed (SIGCONT)`
      : `its server (pid ${pid}) is running but busy with other requests, or stuck`;
    return new TimeoutError(`The manager call ${what} got no reply within ${timeout} s: ${state}`);
  }

  // The connection keeps the program alive only while a call waits on it: an idle manager does not,
  // as an idle pool does not, so a program that never calls shutdown() still ends.
  #keepAlive() {
    const socket = this.#conn?.socket;
    if (this.#waiting.size) return socket?.ref();
    socket?.unref();
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** Sends a request now (or as soon as connected, in order) and resolves with its reply. */
  request(op: Op, ...operands: unknown[]): Promise<unknown> {
    return this.requestWith({}, op, ...operands);
  }

  /** request(), with a name for its errors and a timeout (by default, this client's). */
  requestWith({ what, timeout = this.timeout }: CallOptions, op: Op, ...operands: unknown[]): Promise<unknown> {
    what ??= op;
    if (this.#gone) return Promise.reject(this.#gone);
    const seq = ++this.#seq;
    let frame: Uint8Array;
    try { frame = encode([seq, op, ...operands], this.refs); } catch (e) { return Promise.reject(e); } // a value that cannot be sent
    const reply = new Promise((resolve, reject) => this.#wait(seq, { resolve, reject }, what, timeout));
    if (this.#conn) {
      if (this.#fits(seq, frame, what)) this.#send(frame);
    } else {
      this.#queued.push({ seq, frame, what });
      this.#open().catch(() => { /* reported through the waiting calls */ });
    }
    return reply;
  }

  /** A request whose reply nobody waits for (reference counts); failures are ignored. */
  tell(op: Op, ...operands: unknown[]) {
    this.request(op, ...operands).catch(() => {});
  }

  close() {
    this.#lane?.close();
    this.#conn?.close();
    this.#fail(new ManagerGoneError(`The connection to the manager at ${describe(this.address)} was closed by this process`));
  }
}
