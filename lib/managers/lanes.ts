// Lanes: how a client on the same machine talks to its manager without the socket. A round trip
// over a Unix socket costs 40-70 µs here, most of it two event loops waking; over shared-memory
// queues whose waits first watch the word (waiting.ts: spin) it costs about 10. The socket stays
// open beside the lanes: it is how the client proved the key, and its closing is how each side
// learns the other is gone (the server then releases that client's locks, as before).
//
// The server has one inbox for every lane, so it waits on one word however many clients there
// are; each client gets a queue of its own for the replies. A queue item is a batch: every frame
// one side wrote in one turn of its event loop (a client's pipelined requests, the replies to
// them), so a thousand calls in flight cost a few queue operations, not two thousand. An inbox
// item starts with its lane's number. Frames are already msgpack, so they travel as bytes.
import { ALONE, Full, GET_WITH, PUT_BYTES, PUT_BYTES_ASYNC, Queue, WATCH } from '../queues.ts';
import { freeSegment } from '../heap.ts';
import { REDUCE, revive, type Reduced } from '../reduction.ts';
import { Watch } from '../waiting.ts';

/** What the server hands a client that asks for a lane. */
export interface LaneOffer { lane: number; inbox: Reduced; replies: Reduced }

// Replies bigger than a quarter of this travel in a segment of their own (queues.ts): the replies to
// a thousand calls (some 18 KB) fit in place.
const REPLIES_BYTES = 256 * 1024;
// A client's batch leaves as soon as it holds this many frames, and the rest of the turn's at its
// end: the server then works on the first calls while this side still makes the others (a thousand
// calls made in one turn), where one batch a turn made the two sides work in turns.
const EAGER_FRAMES = 64;
// The longest each side watches for the other (waiting.ts: Watch). On a 2-core VM whose wake-ups
// cost 100-300 µs, 20,000 appends from a child: with a watch of 30-50 µs, 5-8% of calls took over
// 100 µs; with 1 ms, 1.5%. In turns, the mean call: Node 20 40-46 -> 28-30 µs, Bun 53-70 -> 40-46.
const WATCH_MS = 1;
// The server lets its event loop run (sockets, timers) at least this often while requests pour in.
const TURN_MS = 2;

/** Frames gathered in one turn, sent as one queue item of [length, bytes] pairs after a header. */
class Batch {
  #frames: Uint8Array[] = [];
  #bytes = 0;

  add(frame: Uint8Array): boolean {
    this.#frames.push(frame);
    this.#bytes += 4 + frame.length;
    return this.#frames.length === 1;
  }

  get length(): number { return this.#frames.length; }

  /** The batch as one item, after `header` (a lane's number) if given; the batch is then empty. */
  take(header?: number): Uint8Array {
    const offset = header === undefined ? 0 : 4;
    const item = new Uint8Array(offset + this.#bytes);
    if (header !== undefined) putUint32(item, 0, header);
    let at = offset;
    for (const frame of this.#frames) {
      putUint32(item, at, frame.length);
      item.set(frame, at + 4);
      at += 4 + frame.length;
    }
    this.#frames = [];
    this.#bytes = 0;
    return item;
  }

  get empty(): boolean { return this.#frames.length === 0; }
}

// Lengths and lane numbers are little-endian words, written and read by hand: a DataView costs an
// object per batch, and on Bun reaching an array's buffer to make one was as dear as the rest of it.
function putUint32(bytes: Uint8Array, at: number, value: number) {
  bytes[at] = value;
  bytes[at + 1] = value >>> 8;
  bytes[at + 2] = value >>> 16;
  bytes[at + 3] = value >>> 24;
}

function getUint32(bytes: Uint8Array, at: number): number {
  return (bytes[at] | bytes[at + 1] << 8 | bytes[at + 2] << 16 | bytes[at + 3] << 24) >>> 0;
}

/**
 * Where a frame lies: item[start, end). Frames are read where they lie, with no view made of each:
 * msgpack then keeps one DataView for the whole batch, where it added one to every frame.
 */
export type OnFrame = (item: Uint8Array, start: number, end: number) => void;

/** Calls `each` with every frame of a batch item, from `offset` on. */
function unbatch(item: Uint8Array, offset: number, each: OnFrame) {
  for (let at = offset; at < item.length;) {
    const end = at + 4 + getUint32(item, at);
    each(item, at + 4, end);
    at = end;
  }
}

/** The server's side: one inbox, read by one pump, and a reply queue per lane. */
export class LaneHub {
  #inbox: Queue<Uint8Array> | null = null;
  #lanes = new Map<number, { onFrame: OnFrame; flush(): void; close(): void }>();
  #next = 1;

  /**
   * A new lane whose frames go to `onFrame`; `reply` sends on it, and a reply that finds the
   * client's queue full goes to `overflow`; `close` when its socket closes.
   */
  open(onFrame: OnFrame, overflow: (frame: Uint8Array) => void, clientPid: number): { offer: LaneOffer; reply(frame: Uint8Array): void; close(): void } {
    if (!this.#inbox) {
      this.#inbox = new Queue<Uint8Array>(0, { capacity: 1024 * 1024 });
      void this.#pump(this.#inbox);
    }
    // Each reply queue has a segment of its own, removed when its client goes: a server that outlives
    // thousands of clients keeps only the segments of those still connected.
    const lane = this.#next++, replies = new Queue<Uint8Array>(0, { capacity: REPLIES_BYTES, [ALONE]: true });
    const offer: LaneOffer = { lane, inbox: this.#inbox[REDUCE](), replies: replies[REDUCE]() };
    const batch = new Batch();
    let closed = false;
    const flush = () => {
      if (closed || batch.empty) return;
      const item = batch.take();
      // A client that stops reading must not stall the server: when its queue is full the replies
      // go over the socket instead (replies name their request, so order is free).
      try { replies[PUT_BYTES](item); } catch { unbatch(item, 0, (bytes, start, end) => overflow(bytes.subarray(start, end))); }
    };
    const close = () => {
      if (closed) return;
      closed = true;
      this.#lanes.delete(lane);
      replies.close();
      // A client in this very process (a program that serves and calls) shares this mapping: only the name goes.
      freeSegment(segmentOf(offer.replies), clientPid !== process.pid ? 'unmap and unlink' : 'unlink');
    };
    this.#lanes.set(lane, { onFrame, flush, close });
    return {
      offer,
      // Replies made while the pump reads a batch leave when it is read; later ones (a lock that
      // was waited for) at the end of the turn that made them.
      reply: (frame) => { if (batch.add(frame) && !this.#pumping) queueMicrotask(flush); },
      close,
    };
  }

  #pumping = false;

  async #pump(inbox: Queue<Uint8Array>) {
    let turn = performance.now();
    const watch = new Watch(WATCH_MS);
    for (;;) {
      // Right after a batch, the client's next one is usually on its way: watch for it, then
      // sleep with the event loop running.
      if (inbox.qsize() === 0 && !watch.saw(inbox[WATCH](watch.ms)) && !await inbox.pollAsync(null)) break; // closed
      while (inbox.qsize() > 0) {
        // A big batch is read where it lies, in the segment it came in (queues.ts), with no copy first.
        inbox[GET_WITH]((item) => {
          const lane = this.#lanes.get(getUint32(item, 0));
          if (!lane) return; // closed: its client is gone
          this.#pumping = true;
          try { unbatch(item, 4, lane.onFrame); } finally { this.#pumping = false; }
          lane.flush();
        });
        if (performance.now() - turn > TURN_MS) {
          await new Promise((resolve) => setImmediate(resolve));
          turn = performance.now();
        }
      }
    }
  }

  close() {
    this.#inbox?.close();
    for (const lane of [...this.#lanes.values()]) lane.close();
  }
}

/** The segment a reduced queue's ring lies in. */
const segmentOf = (queue: Reduced) => (queue.state as { ring: { segment: string } }).ring.segment;

/** The client's side: requests into the server's inbox, replies from its own queue. */
export class Lane {
  readonly #lane: number;
  readonly #inbox: Queue<Uint8Array>;
  readonly #replies: Queue<Uint8Array>;
  readonly #onFrame: OnFrame;
  readonly #pending: () => boolean;
  readonly #failed: (e: Error) => void;
  readonly #batch = new Batch();
  readonly #watch = new Watch(WATCH_MS);
  readonly #backlog: Uint8Array[] = []; // batches the inbox had no room for yet, in order
  readonly #offer: LaneOffer;
  readonly #serverPid: number;
  #listening = false;
  #unanswered = false; // the last drain left replies still awaited: the listener is needed
  #closed = false;
  #flushing = false; // a flush is due at the end of this turn

  /**
   * `pending` says whether any reply is still awaited: the lane reads only while one is. `failed`
   * hears of requests that could not be sent (the server closed its inbox).
   */
  constructor(offer: LaneOffer, serverPid: number, onFrame: OnFrame, pending: () => boolean, failed: (e: Error) => void) {
    this.#lane = offer.lane;
    this.#serverPid = serverPid;
    this.#offer = offer;
    this.#inbox = revive(offer.inbox) as Queue<Uint8Array>;
    this.#replies = revive(offer.replies) as Queue<Uint8Array>;
    this.#onFrame = onFrame;
    this.#pending = pending;
    this.#failed = failed;
  }

  /** Replies have lately come later than the shortest watch: the client may do better on the socket. */
  get behind(): boolean { return this.#watch.failing; }

  /** Watches at full length again, for a client trying the lane after a while on the socket. */
  retry() { this.#watch.reset(); }

  /** Sends the frame with the rest of this turn's, at its end (or sooner: see EAGER_FRAMES). */
  send(frame: Uint8Array) {
    this.#batch.add(frame);
    if (!this.#flushing) {
      this.#flushing = true;
      queueMicrotask(() => this.#flush());
    } else if (this.#batch.length >= EAGER_FRAMES) {
      this.#put();
    }
  }

  #flush() {
    this.#flushing = false;
    // Right after this turn's requests are out, watch for the replies for a moment: the server
    // usually answers within microseconds, sooner than an event-loop wake-up could tell us.
    if (this.#batch.empty || this.#put()) this.#drain(true);
  }

  /** Puts the batch in the server's inbox; false if it waits in the backlog (or could not go). */
  #put(): boolean {
    const item = this.#batch.take(this.#lane);
    if (this.#backlog.length) {
      this.#backlog.push(item);
      return false;
    }
    try {
      this.#inbox[PUT_BYTES](item);
      return true;
    } catch (e) {
      if (!(e instanceof Full)) {
        this.#failed(e as Error);
        return false;
      }
      // The server is behind, or stopped, or dead: wait for room without blocking this thread, so
      // the socket can still say the server is gone, and keep what follows in order behind it.
      this.#backlog.push(item);
      void this.#sendBacklog();
      return false;
    }
  }

  async #sendBacklog() {
    while (this.#backlog.length && !this.#closed) {
      try {
        await this.#inbox[PUT_BYTES_ASYNC](this.#backlog[0], 0.1);
        this.#backlog.shift();
      } catch (e) {
        if (e instanceof Full) continue; // not yet: look again, unless the lane closed meanwhile
        this.#backlog.length = 0;
        return this.#failed(e as Error);
      }
    }
    this.#drain(true);
  }

  #drain(watch: boolean) {
    if (this.#closed) return;
    while (this.#pending()) {
      if (this.#replies.qsize() > 0) this.#replies[GET_WITH]((item) => unbatch(item, 0, this.#onFrame));
      else if (!watch || !this.#watch.saw(this.#replies[WATCH](this.#watch.ms))) break;
    }
    this.#unanswered = this.#pending();
    if (this.#unanswered) void this.#listen();
  }

  // Replies that take longer (a lock the server waits for) arrive here, without blocking anything.
  // It stops once a watch has seen every reply: a listener left waiting while calls go on (each
  // answered within its watch) would have the server wake it, and it the event loop, for every one.
  async #listen() {
    if (this.#listening) return;
    this.#listening = true;
    try {
      while (this.#unanswered && !this.#closed && !this.#replies.closed) {
        if (await this.#replies.pollAsync(0.05)) this.#drain(false);
      }
    } finally {
      this.#listening = false;
      if (this.#closed) this.#unmap();
    }
  }

  close() {
    if (this.#closed) return;
    this.#closed = true; // the client fails whatever was still waiting
    this.#backlog.length = 0;
    this.#replies.close();
    if (!this.#listening) this.#unmap(); // else once the listener has seen the close
  }

  // This process's view of the reply segment goes with the lane (the server removes the segment).
  #unmap() {
    if (this.#serverPid !== process.pid) freeSegment(segmentOf(this.#offer.replies), 'unmap');
  }
}
