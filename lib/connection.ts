// CPython's multiprocessing.connection, as `mpkit/connection`: Pipe (connection/pipe.ts), Listener
// and Client (connection/listener.ts), over the framing and handshake of connection/socket.ts.
export { AuthenticationError, BufferTooShort, EOFError } from './connection/errors.ts';
export { Connection, Pipe } from './connection/pipe.ts';
export { Client, Listener, SocketConnection, type ListenerOptions } from './connection/listener.ts';
export type { Address } from './connection/socket.ts';
