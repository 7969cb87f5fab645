// Framed messages over a socket and the authkey handshake, which managers and Listener/Client
// (connection/listener.ts) speak. A frame is a 4-byte big-endian length and that many bytes. Before anything else is
// read, both ends prove they hold the key with an HMAC-SHA256 challenge (CPython 3.12 does the
// same), so a peer without it never gets a request decoded. Frames have a size limit; a peer that
// breaks it is cut off.
import type { Server, Socket } from 'node:net';
import { builtin } from '../platform/builtins.ts';
import { AuthenticationError, EOFError } from './errors.ts';

export { AuthenticationError };

/** A Unix socket path, or a TCP host and port. */
export type Address = string | { host: string; port: number };

export const DEFAULT_MAX_FRAME = 64 * 1024 * 1024;
const HANDSHAKE_FRAME = 256;
const HANDSHAKE_MS = 10_000;
// Made at first use, not at import: Buffer is Node compatibility, which Deno sets up when first
// touched (~12 ms), and every child imports mpkit.
let made: { CHALLENGE: Buffer; WELCOME: Buffer; FAILURE: Buffer } | null = null;
const tags = () => (made ??= { CHALLENGE: Buffer.from('{sha256}'), WELCOME: Buffer.from('#WELCOME#'), FAILURE: Buffer.from('#FAILURE#') });

export function describe(address: Address): string {
  return typeof address === 'string' ? address : `${address.host}:${address.port}`;
}

export class FramedSocket {
  readonly socket: Socket;
  #limit: number;
  #pending: Buffer[] = [];
  #buffered = 0;
  #frames: Buffer[] = [];
  #waiters: { resolve(b: Buffer): void; reject(e: Error): void }[] = [];
  #error: Error | null = null;
  #outgoing: Uint8Array[] = [];
  #handler: ((frame: Buffer) => void) | null = null;
  #closedHandlers: ((e: Error) => void)[] = [];
  #arrivals: (() => void)[] = [];

  constructor(socket: Socket, maxFrame = DEFAULT_MAX_FRAME) {
    this.socket = socket;
    this.#limit = maxFrame;
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.#take(chunk));
    socket.on('error', (e) => this.#fail(e));
    socket.on('close', () => this.#fail(new EOFError('The other end closed the connection and nothing is left to receive')));
  }

  get closed(): boolean {
    return this.#error !== null;
  }

  #take(chunk: Buffer) {
    this.#pending.push(chunk);
    this.#buffered += chunk.length;
    while (!this.#error && this.#buffered >= 4) {
      if (this.#pending[0].length < 4) this.#pending = [Buffer.concat(this.#pending)];
      const size = this.#pending[0].readUInt32BE(0);
      if (size > this.#limit) {
        this.#fail(new Error(`A frame of ${size} bytes is over the limit of ${this.#limit}`));
        this.socket.destroy();
        return;
      }
      if (this.#buffered < 4 + size) return; // joined once, when the whole frame is here
      const all = this.#pending.length === 1 ? this.#pending[0] : Buffer.concat(this.#pending);
      const frame = all.subarray(4, 4 + size), rest = all.subarray(4 + size);
      this.#pending = rest.length ? [rest] : [];
      this.#buffered = rest.length;
      const waiter = this.#waiters.shift();
      if (this.#handler) this.#handler(frame);
      else if (waiter) waiter.resolve(frame);
      else { this.#frames.push(frame); this.#arrived(); }
    }
  }

  #fail(e: Error) {
    if (this.#error) return;
    this.#error = e;
    for (const w of this.#waiters.splice(0)) w.reject(e);
    for (const h of this.#closedHandlers) h(e);
    this.#arrived();
  }

  #arrived() {
    for (const wake of this.#arrivals.splice(0)) wake();
  }

  /** True if recvBytes() would settle at once: a frame is here, or the connection has ended. */
  get ready(): boolean {
    return this.#frames.length > 0 || this.#error !== null;
  }

  /** Settles when a frame arrives that no recvBytes() takes, or the connection ends. */
  arrival(): Promise<void> {
    return this.ready ? Promise.resolve() : new Promise((resolve) => this.#arrivals.push(resolve));
  }

  /**
   * Hands every later frame to `handler` as it arrives, all frames of one read in one go, so the
   * replies they cause leave in one write. `onClose` runs once, when the connection ends.
   */
  onFrames(handler: (frame: Buffer) => void, onClose: (e: Error) => void) {
    for (const frame of this.#frames.splice(0)) handler(frame);
    this.#handler = handler;
    if (this.#error) onClose(this.#error);
    else this.#closedHandlers.push(onClose);
  }

  /** The next frame; rejects once the connection is closed or broken. */
  recvBytes(): Promise<Buffer> {
    const frame = this.#frames.shift();
    if (frame) return Promise.resolve(frame);
    if (this.#error) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  sendBytes(data: Uint8Array): void {
    if (this.#error) throw this.#error;
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32BE(data.length, 0);
    this.#outgoing.push(head, data);
    // Frames sent in the same turn of the event loop leave in one write: a write is a system call,
    // and pipelined requests (or the replies to them) then cost one between them all.
    if (this.#outgoing.length === 2) queueMicrotask(() => this.#flush());
  }

  #flush() {
    const parts = this.#outgoing;
    this.#outgoing = [];
    if (!this.#error && parts.length) this.socket.write(Buffer.concat(parts));
  }

  /** Sets how big a frame may be from now on (small during the handshake). */
  limit(bytes: number) {
    this.#limit = bytes;
  }

  close() {
    this.#flush();
    this.socket.end();
    this.socket.destroy();
  }
}

async function withinHandshake<T>(conn: FramedSocket, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => { conn.close(); reject(new AuthenticationError('The peer did not finish the handshake in time')); }, HANDSHAKE_MS);
  });
  try { return await Promise.race([work, timeout]); } finally { clearTimeout(timer); }
}

function hmac(key: Uint8Array, message: Uint8Array): Buffer {
  return builtin('node:crypto').createHmac('sha256', key).update(message).digest();
}

/** Sends a challenge and checks the answer; a wrong answer is told #FAILURE# and throws. */
async function deliverChallenge(conn: FramedSocket, key: Uint8Array) {
  const { CHALLENGE, WELCOME, FAILURE } = tags();
  const message = Buffer.concat([CHALLENGE, builtin('node:crypto').randomBytes(40)]);
  conn.sendBytes(message);
  const answer = await conn.recvBytes();
  const expected = hmac(key, message);
  if (answer.length !== expected.length || !builtin('node:crypto').timingSafeEqual(answer, expected)) {
    conn.sendBytes(FAILURE);
    throw new AuthenticationError('The peer answered the challenge with the wrong key');
  }
  conn.sendBytes(WELCOME);
}

async function answerChallenge(conn: FramedSocket, key: Uint8Array) {
  const { CHALLENGE, WELCOME } = tags();
  const message = await conn.recvBytes();
  if (!message.subarray(0, CHALLENGE.length).equals(CHALLENGE)) throw new AuthenticationError('The peer sent no challenge: it is not an mpkit server');
  conn.sendBytes(hmac(key, message));
  const verdict = await conn.recvBytes();
  if (!verdict.equals(WELCOME)) throw new AuthenticationError('The server refused the authkey: use the key it was started with');
}

/** Both ends prove the key; the server challenges first. */
export async function handshake(conn: FramedSocket, key: Uint8Array, side: 'server' | 'client', maxFrame = DEFAULT_MAX_FRAME) {
  conn.limit(HANDSHAKE_FRAME);
  const steps = side === 'server'
    ? (async () => { await deliverChallenge(conn, key); await answerChallenge(conn, key); })()
    : (async () => { await answerChallenge(conn, key); await deliverChallenge(conn, key); })();
  await withinHandshake(conn, steps);
  conn.limit(maxFrame);
}

/**
 * Connects to `address` and proves the key both ways (with no key, as CPython's Client with no
 * authkey, there is no handshake). `peer` names what is expected there, for errors.
 */
export async function connect(address: Address, key: Uint8Array | null, maxFrame = DEFAULT_MAX_FRAME, peer = 'a manager'): Promise<FramedSocket> {
  const net = builtin('node:net');
  const socket = typeof address === 'string' ? net.createConnection(address) : net.createConnection(address.port, address.host);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', (e) => reject(new Error(`Cannot reach ${peer} at ${describe(address)}: ${e.message}`, { cause: e })));
  });
  const conn = new FramedSocket(socket, maxFrame);
  if (!key) return conn;
  try {
    await handshake(conn, key, 'client', maxFrame);
  } catch (e) {
    conn.close();
    if (e instanceof AuthenticationError) throw e;
    throw new AuthenticationError(`${peer[0].toUpperCase()}${peer.slice(1)} at ${describe(address)} closed the connection during the handshake: check the authkey`, { cause: e });
  }
  return conn;
}

/** Listens on `address` (port 0 picks a free one); `onConnection` gets each peer after its handshake (none without a key). */
export async function listen(address: Address, key: Uint8Array | null, onConnection: (conn: FramedSocket) => void, maxFrame = DEFAULT_MAX_FRAME): Promise<{ server: Server; address: Address }> {
  const net = builtin('node:net');
  const server = net.createServer((socket) => {
    const conn = new FramedSocket(socket, maxFrame);
    if (!key) return onConnection(conn);
    handshake(conn, key, 'server', maxFrame).then(() => onConnection(conn), () => conn.close());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (typeof address === 'string') server.listen(address, resolve);
    else server.listen(address.port, address.host, resolve);
  });
  const bound = server.address();
  return { server, address: typeof address === 'string' || !bound || typeof bound === 'string' ? address : { host: address.host, port: bound.port } };
}

