// CPython's Listener and Client: framed messages between processes that find each other by address
// (a TCP host and port, or a Unix socket path), after both prove the same authkey. A socket cannot
// be read without waiting for the event loop, so where CPython's recv() blocks, a SocketConnection's
// recvAsync() is awaited. Values are sent under the same rules as everything else in mpkit
// (structured.ts): what cannot be sent is refused by send(), before anything leaves.
import type { Server } from 'node:net';
import { builtin } from '../platform/builtins.ts';
import { dumps, loads } from '../reduction.ts';
import { checkTimeout } from '../waiting.ts';
import { BufferTooShort, EOFError } from './errors.ts';
import { bytesToSend, receivedBytes } from './pipe.ts';
import { connect, DEFAULT_MAX_FRAME, describe, listen, type Address, type FramedSocket } from './socket.ts';

export interface ListenerOptions {
  /** Both ends must hold it; without one, as in CPython, there is no handshake. */
  authkey?: string | Uint8Array;
  /** The largest message either side may receive; a peer that sends a larger one is cut off. Default 64 MiB. */
  maxFrameBytes?: number;
}

function keyOf(authkey: string | Uint8Array | undefined): Uint8Array | null {
  if (authkey === undefined) return null;
  if (typeof authkey === 'string') return new TextEncoder().encode(authkey);
  if (authkey instanceof Uint8Array) return authkey;
  throw new TypeError('An authkey is a string or a Uint8Array');
}

function maxFrameOf(options: ListenerOptions): number {
  const max = options.maxFrameBytes ?? DEFAULT_MAX_FRAME;
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxFrameBytes is a whole number of bytes, at least 1, not ${max}`);
  return max;
}

/** One end of a connection made by Listener.accept() or Client(). */
export class SocketConnection<T = unknown> {
  readonly #conn: FramedSocket;
  #reading = 0;
  #closed = false;

  /** @internal made by Listener.accept() and Client() */
  constructor(conn: FramedSocket) {
    this.#conn = conn;
    conn.socket.unref(); // an idle connection does not keep the program alive; a read in progress does
  }

  get closed(): boolean { return this.#closed; }

  #live(): FramedSocket {
    if (this.#closed) throw new Error('This connection is closed');
    return this.#conn;
  }

  /** Sends `value` as one message; a value that cannot be sent throws here and nothing is sent. */
  send(value: T): void {
    const conn = this.#live(), bytes = dumps(value, 'the message');
    this.#write(conn, bytes);
  }

  /** Sends bytes[offset, offset + size) as one message, which recvBytesAsync() receives (CPython's send_bytes). */
  sendBytes(bytes: Uint8Array, offset = 0, size?: number): void {
    this.#write(this.#live(), bytesToSend(bytes, offset, size));
  }

  #write(conn: FramedSocket, bytes: Uint8Array) {
    if (conn.closed) throw new EOFError('The other end closed the connection: nothing more can be sent');
    conn.sendBytes(bytes);
  }

  // The socket keeps the program alive only while something waits on it.
  async #reads<R>(work: (conn: FramedSocket) => Promise<R>): Promise<R> {
    const conn = this.#live();
    if (this.#reading++ === 0) conn.socket.ref();
    try { return await work(conn); } finally { if (--this.#reading === 0 && !conn.closed) conn.socket.unref(); }
  }

  /** The next message's bytes, whoever sent them; EOFError once the other end has closed and all it sent is read. */
  recvBytesAsync(maxlength?: number): Promise<Uint8Array> {
    return this.#reads(async (conn) => {
      let frame: Uint8Array;
      try { frame = await conn.recvBytes(); } catch (e) { throw this.#ended(e); }
      return receivedBytes(frame, maxlength);
    });
  }

  /** The next value sent with send(). */
  async recvAsync(): Promise<T> {
    return loads(await this.recvBytesAsync()) as T;
  }

  /** Reads the next message into `buffer` from `offset` and returns its length; BufferTooShort (holding it) if it does not fit. */
  async recvBytesIntoAsync(buffer: Uint8Array, offset = 0): Promise<number> {
    if (!Number.isInteger(offset) || offset < 0 || offset > buffer.length) throw new RangeError(`offset ${offset} is outside a buffer of ${buffer.length} bytes`);
    const message = await this.recvBytesAsync();
    if (message.length > buffer.length - offset) throw new BufferTooShort(message);
    buffer.set(message, offset);
    return message.length;
  }

  /** True once a message is waiting (or the other end has closed); false after `timeout` seconds (0 or negative: do not wait; null: forever). */
  pollAsync(timeout: number | null = 0): Promise<boolean> {
    checkTimeout(timeout);
    return this.#reads(async (conn) => {
      if (conn.ready || (timeout !== null && timeout <= 0)) return conn.ready;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = timeout === null ? new Promise<void>(() => {}) : new Promise<void>((resolve) => { timer = setTimeout(resolve, timeout * 1000); });
      try { await Promise.race([conn.arrival(), expired]); } finally { clearTimeout(timer); }
      return conn.ready;
    });
  }

  #ended(e: unknown): Error {
    if (this.#closed) return new Error('This connection was closed while a receive waited on it');
    return e as Error;
  }

  /** `for await (const value of conn)`: every value sent, until the other end closes. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) {
      try { yield await this.recvAsync(); } catch (e) { if (e instanceof EOFError) return; throw e; }
    }
  }

  /** Closes this end, after what was sent has been written; the other end's receives then end with EOFError. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn.close();
  }

  [Symbol.dispose]() { this.close(); }
}

/** A server socket that hands out a SocketConnection for each Client() that connects and proves the authkey. */
export class Listener<T = unknown> {
  readonly #server: Server;
  readonly #address: Address;
  readonly #arrived: FramedSocket[] = [];
  readonly #accepting: { resolve(c: FramedSocket): void; reject(e: Error): void }[] = [];
  #closed = false;

  /**
   * Listens on `address`: `{ host, port }` (port 0 picks a free one; see `address`) or a Unix
   * socket path. Without an address, a free port on 127.0.0.1, so no socket file can be left behind.
   */
  static async listen<T = unknown>(address: Address = { host: '127.0.0.1', port: 0 }, options: ListenerOptions = {}): Promise<Listener<T>> {
    const key = keyOf(options.authkey), maxFrame = maxFrameOf(options);
    const arrived: FramedSocket[] = [];
    let deliver: (conn: FramedSocket) => void = (conn) => arrived.push(conn);
    const bound = await listen(address, key, (conn) => deliver(conn), maxFrame).catch((e) => {
      throw new Error(`Cannot listen on ${describe(address)}: ${(e as Error).message}`, { cause: e });
    });
    const listener = new Listener<T>(bound.server, bound.address);
    listener.#arrived.push(...arrived);
    deliver = (conn) => listener.#deliver(conn);
    return listener;
  }

  private constructor(server: Server, address: Address) {
    this.#server = server;
    this.#address = address;
    server.unref(); // only a pending accept() keeps the program alive
  }

  /** Where clients connect: with port 0, the port that was picked. */
  get address(): Address { return this.#address; }

  get closed(): boolean { return this.#closed; }

  #deliver(conn: FramedSocket) {
    const waiter = this.#accepting.shift();
    if (waiter) waiter.resolve(conn);
    else this.#arrived.push(conn);
    if (!this.#accepting.length) this.#server.unref();
  }

  /** The next client that has connected and proved the key (one that fails the handshake is dropped). */
  async accept(): Promise<SocketConnection<T>> {
    if (this.#closed) throw new Error('This listener is closed');
    const ready = this.#arrived.shift();
    if (ready) return new SocketConnection<T>(ready);
    this.#server.ref();
    const conn = await new Promise<FramedSocket>((resolve, reject) => this.#accepting.push({ resolve, reject }));
    return new SocketConnection<T>(conn);
  }

  /** Stops listening; connections already accepted stay open. A Unix socket file is removed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.close();
    for (const w of this.#accepting.splice(0)) w.reject(new Error('The listener was closed while accept() waited'));
    for (const conn of this.#arrived.splice(0)) conn.close();
    if (typeof this.#address === 'string') builtin('node:fs').rmSync(this.#address, { force: true });
  }

  [Symbol.dispose]() { this.close(); }
}

/** Connects to a Listener at `address`, proving `authkey` if one is given (it must be the listener's). */
export async function Client<T = unknown>(address: Address, options: ListenerOptions = {}): Promise<SocketConnection<T>> {
  const conn = await connect(address, keyOf(options.authkey), maxFrameOf(options), 'a listener');
  return new SocketConnection<T>(conn);
}
