// A client's side of a manager: one connection per manager per thread, shared by every proxy, with
// many requests in flight at once (each reply names its request). When the server goes away, every
// call still waiting fails at once with an error that says so.
import { connect, describe, type Address, type SocketConnection } from '../connection.ts';
import { rethrown, type RemoteErrorData } from '../remote.ts';
import { decode, encode, type Op, type RefHandlers } from './wire.ts';
import { Lane, type LaneOffer } from './lanes.ts';
import { finishBeforeExit } from '../identity.ts';

/** The server is gone: it shut down, or its process died. */
export class ManagerGoneError extends Error {
  override name = 'ManagerGoneError';
}

export class Client {
  readonly address: Address;
  readonly key: Uint8Array;
  #conn: SocketConnection | null = null;
  #lane: Lane | null = null;
  #connecting: Promise<SocketConnection> | null = null;
  #queued: Uint8Array[] = [];
  #seq = 0;
  #waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  #idle: (() => void)[] = [];
  #gone: Error | null = null;
  refs: RefHandlers;

  constructor(address: Address, key: Uint8Array, refs: RefHandlers) {
    this.address = address;
    this.key = key;
    this.refs = refs;
    finishBeforeExit(() => this.idle());
  }

  /** Resolves once no call waits for its reply: each has its answer, or failed with the connection. */
  idle(): Promise<void> {
    return this.#waiting.size === 0 ? Promise.resolve() : new Promise((resolve) => this.#idle.push(resolve));
  }

  #open(): Promise<SocketConnection> {
    this.#connecting ??= connect(this.address, this.key).then(async (conn) => {
      this.#read(conn);
      // On this machine (a Unix socket), requests and replies then go through shared memory.
      if (typeof this.address === 'string') {
        const offer = await this.#ask(conn, 'lanes') as LaneOffer;
        this.#lane = new Lane(offer, (bytes, start, end) => this.#deliver(bytes, start, end), () => this.#waiting.size > 0, (e) => this.#fail(new ManagerGoneError(`The manager at ${describe(this.address)} takes no more requests (it is shutting down): start it again to go on`, { cause: e })));
      }
      this.#conn = conn;
      this.#keepAlive();
      for (const frame of this.#queued.splice(0)) this.#send(frame);
      return conn;
    }).catch((e) => {
      this.#fail(e);
      throw e;
    });
    return this.#connecting;
  }

  #ask(conn: SocketConnection, op: Op): Promise<unknown> {
    const seq = ++this.#seq;
    const reply = new Promise((resolve, reject) => this.#wait(seq, { resolve, reject }));
    conn.sendBytes(encode([seq, op], this.refs));
    return reply;
  }

  #send(frame: Uint8Array) {
    try {
      if (this.#lane) this.#lane.send(frame);
      else this.#conn!.sendBytes(frame);
    } catch (e) {
      this.#fail(e as Error);
    }
  }

  #read(conn: SocketConnection) {
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
    const waiter = this.#waiting.get(seq);
    if (this.#waiting.delete(seq) && this.#waiting.size === 0) this.#keepAlive();
    if (tag === '#RETURN') waiter?.resolve(value);
    else waiter?.reject(rethrown(value as RemoteErrorData, 'the manager server'));
  }

  #fail(e: Error) {
    this.#gone ??= e;
    for (const w of this.#waiting.values()) w.reject(this.#gone);
    this.#waiting.clear();
    this.#keepAlive();
  }

  #wait(seq: number, waiter: { resolve(v: unknown): void; reject(e: Error): void }) {
    this.#waiting.set(seq, waiter);
    if (this.#waiting.size === 1) this.#keepAlive();
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
    if (this.#gone) return Promise.reject(this.#gone);
    const seq = ++this.#seq;
    let frame: Uint8Array;
    try { frame = encode([seq, op, ...operands], this.refs); } catch (e) { return Promise.reject(e); } // a value that cannot be sent
    const reply = new Promise((resolve, reject) => this.#wait(seq, { resolve, reject }));
    if (this.#conn) {
      this.#send(frame);
    } else {
      this.#queued.push(frame);
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
