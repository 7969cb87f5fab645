// The errors a caller of connection.ts is expected to catch, shared by pipes and sockets.

/** The other end does not hold the same authkey (or is not an mpkit peer at all). */
export class AuthenticationError extends Error {
  override name = 'AuthenticationError';
}

/** The other end of a pipe or connection closed, and nothing it sent is left. */
export class EOFError extends Error {
  override name = 'EOFError';
  constructor(message = 'The other end of the pipe is closed and nothing is left to receive') { super(message); }
}

/** A message too long for the buffer given to recvBytesInto(); `bytes` is the whole message. */
export class BufferTooShort extends Error {
  override name = 'BufferTooShort';
  readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    super(`A message of ${bytes.length} bytes does not fit the buffer: it is in this error's bytes`);
    this.bytes = bytes;
  }
}
