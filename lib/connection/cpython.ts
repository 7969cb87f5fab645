// CPython's connection handshake (multiprocessing.connection: deliver_challenge, answer_challenge),
// both of its generations, over the same 4-byte big-endian frames mpkit uses:
// - 3.11 and before: '#CHALLENGE#' + 20 random bytes, answered with a raw 16-byte HMAC-MD5;
// - 3.12 and later: '#CHALLENGE#{sha256}' + 40 random bytes, answered with '{sha256}' + the HMAC
//   of everything after '#CHALLENGE#'. A modern peer still answers a 20-byte challenge with MD5,
//   and accepts a 16-byte MD5 answer to its own: the lengths tell the generations apart.
// Then '#WELCOME#' or '#FAILURE#'. The client answers first, then challenges the server.
import { builtin } from '../platform/builtins.ts';
import { AuthenticationError } from './errors.ts';
import { connect, describe, type Address, type FramedSocket } from './socket.ts';

const text = (s: string) => new TextEncoder().encode(s);
const CHALLENGE = text('#CHALLENGE#'), WELCOME = text('#WELCOME#'), FAILURE = text('#FAILURE#');
const LEGACY_CHALLENGE = 20, MD5_LENGTH = 16, HANDSHAKE_FRAME = 256;
// CPython's names, and node:crypto's for them.
const DIGESTS: Record<string, string> = { md5: 'md5', sha256: 'sha256', sha384: 'sha384', sha3_256: 'sha3-256', sha3_384: 'sha3-384' };

const startsWith = (b: Uint8Array, prefix: Uint8Array) => b.length >= prefix.length && prefix.every((x, i) => b[i] === x);
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && builtin('node:crypto').timingSafeEqual(a, b);
const hmac = (digest: string, key: Uint8Array, message: Uint8Array) => new Uint8Array(builtin('node:crypto').createHmac(DIGESTS[digest], key).update(message).digest());
const join = (...parts: Uint8Array[]) => { const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0)); let at = 0; for (const p of parts) { out.set(p, at); at += p.length; } return out; };

/** The digest a challenge or answer names ('' for the legacy, unnamed MD5), and what follows the name. */
function digestOf(message: Uint8Array): [string, Uint8Array] {
  if (message.length === LEGACY_CHALLENGE || message.length === MD5_LENGTH) return ['', message];
  const close = message.indexOf(0x7d); // '}'
  if (message[0] === 0x7b && close > 1 && close <= 10) {
    const name = new TextDecoder().decode(message.subarray(1, close));
    if (name in DIGESTS) return [name, message.subarray(close + 1)];
  }
  throw new AuthenticationError('The peer named no digest CPython allows (md5, sha256, sha384, sha3_256, sha3_384): it is not a Python multiprocessing peer');
}

/** Proves the key to the peer: answers its challenge (the client's first step, the server's second). */
async function answer(conn: FramedSocket, key: Uint8Array) {
  const message = await conn.recvBytes();
  if (!startsWith(message, CHALLENGE)) throw new AuthenticationError('The peer sent no #CHALLENGE#: it is not a Python multiprocessing manager');
  const payload = message.subarray(CHALLENGE.length);
  if (payload.length < LEGACY_CHALLENGE) throw new AuthenticationError(`The peer's challenge is ${payload.length} bytes, too short to answer`);
  const [digest] = digestOf(payload);
  conn.sendBytes(digest ? join(text(`{${digest}}`), hmac(digest, key, payload)) : hmac('md5', key, payload));
  if (!same(await conn.recvBytes(), WELCOME)) throw new AuthenticationError('The Python peer refused the authkey: use the key it was started with');
}

/** Makes the peer prove the key: a 3.12-style challenge, to which a 3.11 peer answers with MD5. */
async function challenge(conn: FramedSocket, key: Uint8Array) {
  const message = join(text('{sha256}'), new Uint8Array(builtin('node:crypto').randomBytes(40)));
  conn.sendBytes(join(CHALLENGE, message));
  const [digest, mac] = digestOf(await conn.recvBytes());
  if (!same(mac, hmac(digest || 'md5', key, message))) {
    conn.sendBytes(FAILURE);
    throw new AuthenticationError('The Python peer answered the challenge with the wrong key');
  }
  conn.sendBytes(WELCOME);
}

/** CPython's handshake on an open connection, as the client (answer, then challenge) or the server. */
export async function cpythonHandshake(conn: FramedSocket, key: Uint8Array, side: 'client' | 'server', timeoutMs = 10_000): Promise<void> {
  conn.limit(HANDSHAKE_FRAME);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => { conn.close(); reject(new AuthenticationError('The Python peer did not finish the handshake in time')); }, timeoutMs); });
  try {
    await Promise.race([side === 'client' ? answer(conn, key).then(() => challenge(conn, key)) : challenge(conn, key).then(() => answer(conn, key)), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Connects to a Python multiprocessing peer (a manager, a Listener) at `address` and proves the key both ways. */
export async function cpythonConnect(address: Address, key: Uint8Array, maxFrame: number): Promise<FramedSocket> {
  const conn = await connect(address, null, maxFrame, 'a Python manager');
  try {
    await cpythonHandshake(conn, key, 'client');
  } catch (e) {
    conn.close();
    if (e instanceof AuthenticationError) throw e;
    throw new AuthenticationError(`The Python peer at ${describe(address)} closed the connection during the handshake: check the authkey`, { cause: e });
  }
  conn.limit(maxFrame);
  return conn;
}
