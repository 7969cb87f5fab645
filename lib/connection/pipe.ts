// Python's Pipe: two connected ends, each able to send what the other receives. Here each
// direction is a queue in shared memory, so the ends work between threads, between processes, and
// across the two. As in CPython, closing an end closes this process's copy only: the other end's
// recv() ends with EOFError once every copy is closed, or held by a process that has died
// (connection/holders.ts), and only after everything sent has been received.
import { Full, Queue } from '../queues.ts';
import { REDUCE, registerType, revive, type Reduced } from '../reduction.ts';
import type { Piece } from '../heap.ts';
import { Holders } from './holders.ts';
import { BufferTooShort, EOFError } from './errors.ts';

export { BufferTooShort, EOFError };

export function bytesToSend(bytes: Uint8Array, offset: number, size?: number): Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('sendBytes() sends a Uint8Array');
  if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`offset is a whole number, at least 0, not ${offset}`);
  if (offset > bytes.length) throw new RangeError(`offset ${offset} is past the end of a buffer of ${bytes.length} bytes`);
  const end = size === undefined ? bytes.length : offset + size;
  if (size !== undefined && (!Number.isInteger(size) || size < 0)) throw new RangeError(`size is a whole number, at least 0, not ${size}`);
  if (end > bytes.length) throw new RangeError(`offset ${offset} + size ${size} is past the end of a buffer of ${bytes.length} bytes`);
  return bytes.slice(offset, end);
}

export function receivedBytes(message: unknown, maxlength?: number): Uint8Array {
  if (!(message instanceof Uint8Array)) throw new TypeError('The message received is not bytes: it was sent with send(), so take it with recv()');
  if (maxlength !== undefined && message.length > maxlength) throw new RangeError(`A message of ${message.length} bytes is longer than maxlength ${maxlength}`);
  return message;
}

// How often a wait looks whether the other end's holders have all died.
const HOLDERS_CHECK_S = 0.1;

interface PipeState { inbox: Reduced | null; outbox: Reduced | null; holders: Piece; end: 0 | 1; from: number | null }

export class Connection<T = unknown> {
  readonly #inbox: Queue<T> | null;
  readonly #outbox: Queue<T> | null;
  readonly #holders: Holders;
  readonly #end: 0 | 1;
  #closed = false;

  constructor(state: PipeState) {
    this.#inbox = state.inbox ? revive(state.inbox) as Queue<T> : null;
    this.#outbox = state.outbox ? revive(state.outbox) as Queue<T> : null;
    this.#holders = new Holders(state.holders);
    this.#end = state.end;
    if (state.from !== null) { // a copy that was sent: this process takes it over from the sender
      this.#holders.add(this.#end, process.pid, 1);
      this.#holders.add(this.#end, state.from, -1);
    }
  }

  get readable(): boolean { return this.#inbox !== null; }
  get writable(): boolean { return this.#outbox !== null; }
  get closed(): boolean { return this.#closed; }

  #live(what: 'send' | 'receive'): Queue<T> {
    if (this.#closed) throw new Error('This end of the pipe is closed');
    const q = what === 'send' ? this.#outbox : this.#inbox;
    if (!q) throw new Error(`This end of a one-way pipe cannot ${what}: use the other end`);
    return q;
  }

  /** True once no live process holds the other end; its queues are then closed, as its last holder would have. */
  #otherGone(): boolean {
    if (this.#holders.live((1 - this.#end) as 0 | 1) > 0) return false;
    this.#inbox?.close();
    this.#outbox?.close();
    return true;
  }

  send(value: T): void {
    const q = this.#live('send');
    for (;;) {
      if (q.closed) throw new EOFError('The other end of the pipe is closed: nothing more can be sent');
      try { return q.put(value, { timeout: HOLDERS_CHECK_S }); } catch (e) { if (!(e instanceof Full)) throw e; }
      this.#otherGone();
    }
  }

  async sendAsync(value: T): Promise<void> {
    const q = this.#live('send');
    for (;;) {
      if (q.closed) throw new EOFError('The other end of the pipe is closed: nothing more can be sent');
      try { return await q.putAsync(value, { timeout: HOLDERS_CHECK_S }); } catch (e) { if (!(e instanceof Full)) throw e; }
      this.#otherGone();
    }
  }

  /** Waits for the next value; EOFError once the other end is closed (or its holders died) and nothing is left. */
  recv(): T {
    const q = this.#live('receive');
    while (!q.poll(HOLDERS_CHECK_S) || q.empty()) if ((q.closed || this.#otherGone()) && q.empty()) throw new EOFError();
    return q.getNowait();
  }

  async recvAsync(): Promise<T> {
    const q = this.#live('receive');
    while (!await q.pollAsync(HOLDERS_CHECK_S) || q.empty()) if ((q.closed || this.#otherGone()) && q.empty()) throw new EOFError();
    return q.getNowait();
  }

  /** Sends bytes[offset, offset + size) as one message (CPython's send_bytes). */
  sendBytes(bytes: Uint8Array, offset = 0, size?: number): void {
    this.send(bytesToSend(bytes, offset, size) as T);
  }

  /** The next message, which must be bytes; RangeError if longer than `maxlength` (CPython's recv_bytes). */
  recvBytes(maxlength?: number): Uint8Array {
    return receivedBytes(this.recv(), maxlength);
  }

  async recvBytesAsync(maxlength?: number): Promise<Uint8Array> {
    return receivedBytes(await this.recvAsync(), maxlength);
  }

  /**
   * Reads the next message into `buffer` from `offset`; returns its length. If it does not fit,
   * throws BufferTooShort, which holds the message (CPython's recv_bytes_into).
   */
  recvBytesInto(buffer: Uint8Array, offset = 0): number {
    if (!Number.isInteger(offset) || offset < 0 || offset > buffer.length) throw new RangeError(`offset ${offset} is outside a buffer of ${buffer.length} bytes`);
    const message = receivedBytes(this.recv());
    if (message.length > buffer.length - offset) throw new BufferTooShort(message);
    buffer.set(message, offset);
    return message.length;
  }

  /** True if a value is waiting, or one arrives within `timeout` seconds (0 or negative: do not wait; null: forever). */
  poll(timeout: number | null = 0): boolean { return this.#live('receive').poll(timeout); }
  pollAsync(timeout: number | null = 0): Promise<boolean> { return this.#live('receive').pollAsync(timeout); }

  /**
   * Closes this process's copy of this end. Once no process holds a copy, the other end's recv()
   * ends with EOFError when it has received what was sent, and its send() with EOFError.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#holders.add(this.#end, process.pid, -1);
    if (this.#holders.live(this.#end) > 0) return;
    this.#outbox?.close();
    this.#inbox?.close();
  }

  [Symbol.dispose]() { this.close(); }

  [REDUCE](): Reduced {
    if (this.#closed) throw new Error('A closed end of a pipe cannot be sent: send it before closing it');
    this.#holders.add(this.#end, process.pid, 1); // the copy on its way, counted here until the receiver takes it
    const state: PipeState = { inbox: this.#inbox?.[REDUCE]() ?? null, outbox: this.#outbox?.[REDUCE]() ?? null, holders: this.#holders.piece, end: this.#end, from: process.pid };
    return { $mpkit: 'Connection', state };
  }
}

/** Two connected ends; with `duplex: false`, the first only receives and the second only sends. */
export function Pipe<T = unknown>(duplex = true): [Connection<T>, Connection<T>] {
  const a = new Queue<T>(), b = new Queue<T>(), holders = new Holders().piece;
  if (!duplex) {
    return [new Connection({ inbox: a[REDUCE](), outbox: null, holders, end: 0, from: null }), new Connection({ inbox: null, outbox: a[REDUCE](), holders, end: 1, from: null })];
  }
  return [
    new Connection({ inbox: a[REDUCE](), outbox: b[REDUCE](), holders, end: 0, from: null }),
    new Connection({ inbox: b[REDUCE](), outbox: a[REDUCE](), holders, end: 1, from: null }),
  ];
}

registerType('Connection', (state: PipeState) => new Connection(state));
