// Lanes: how a client on the same machine talks to its manager without the socket. A round trip
// over a Unix socket costs 40-70 µs here, most of it two event loops waking; over shared-memory
// queues whose waits first watch the word (waiting.ts: spin) it costs about 10. The socket stays
// open beside the lanes: it is how the client proved the key, and its closing is how each side
// learns the other is gone (the server then releases that client's locks, as before).
//
// The server has one inbox for every lane, so it waits on one word however many clients there
// are; each item names its lane. Each client gets a queue of its own for the replies.
import { Queue } from '../queues.ts';
import { REDUCE, revive, type Reduced } from '../reduction.ts';

/** What the server hands a client that asks for a lane. */
export interface LaneOffer { lane: number; inbox: Reduced; replies: Reduced }

type Item = [lane: number, frame: Uint8Array];

// Replies bigger than a quarter of this travel in a segment of their own (queues.ts).
const REPLIES_BYTES = 64 * 1024;
// How long a client watches for a reply before it leaves the rest to the event loop.
const WATCH_S = 50e-6;
// The server lets its event loop run (sockets, timers) at least this often while requests pour in.
const TURN_MS = 2;

/** The server's side: one inbox, read by one pump, and a reply queue per lane. */
export class LaneHub {
  #inbox: Queue<Item> | null = null;
  #lanes = new Map<number, { replies: Queue<Uint8Array>; onFrame(frame: Uint8Array): void }>();
  #next = 1;

  /** A new lane whose frames go to `onFrame`; `reply` sends on it; `close` when its socket closes. */
  open(onFrame: (frame: Uint8Array) => void): { offer: LaneOffer; reply(frame: Uint8Array): boolean; close(): void } {
    if (!this.#inbox) {
      this.#inbox = new Queue<Item>(0, { capacity: 1024 * 1024 });
      void this.#pump(this.#inbox);
    }
    const lane = this.#next++, replies = new Queue<Uint8Array>(0, { capacity: REPLIES_BYTES });
    this.#lanes.set(lane, { replies, onFrame });
    return {
      offer: { lane, inbox: this.#inbox[REDUCE](), replies: replies[REDUCE]() },
      // A client that stops reading must not stall the server: when its queue is full the caller
      // sends that reply over the socket instead (replies name their request, so order is free).
      reply: (frame) => {
        try { replies.putNowait(frame); return true; } catch { return false; }
      },
      close: () => { this.#lanes.delete(lane); replies.close(); },
    };
  }

  async #pump(inbox: Queue<Item>) {
    let turn = performance.now();
    while (await inbox.pollAsync(null)) {
      while (inbox.qsize() > 0) {
        const [lane, frame] = inbox.getNowait();
        this.#lanes.get(lane)?.onFrame(frame); // a lane already closed: its client is gone
        if (performance.now() - turn > TURN_MS) {
          await new Promise((resolve) => setImmediate(resolve));
          turn = performance.now();
        }
      }
    }
  }

  close() {
    this.#inbox?.close();
    for (const { replies } of this.#lanes.values()) replies.close();
    this.#lanes.clear();
  }
}

/** The client's side: requests into the server's inbox, replies from its own queue. */
export class Lane {
  readonly #lane: number;
  readonly #inbox: Queue<Item>;
  readonly #replies: Queue<Uint8Array>;
  readonly #onFrame: (frame: Uint8Array) => void;
  readonly #pending: () => boolean;
  #watching = false;
  #listening = false;

  /** `pending` says whether any reply is still awaited: the lane reads only while one is. */
  constructor(offer: LaneOffer, onFrame: (frame: Uint8Array) => void, pending: () => boolean) {
    this.#lane = offer.lane;
    this.#inbox = revive(offer.inbox) as Queue<Item>;
    this.#replies = revive(offer.replies) as Queue<Uint8Array>;
    this.#onFrame = onFrame;
    this.#pending = pending;
  }

  send(frame: Uint8Array) {
    this.#inbox.put([this.#lane, frame]);
    // Right after this turn's requests are out, watch for the replies for a moment: the server
    // usually answers within microseconds, sooner than an event-loop wake-up could tell us.
    if (!this.#watching) {
      this.#watching = true;
      queueMicrotask(() => { this.#watching = false; this.#drain(true); });
    }
  }

  #drain(watch: boolean) {
    while (this.#pending()) {
      if (this.#replies.qsize() > 0) this.#onFrame(this.#replies.getNowait());
      else if (!watch || !this.#replies.poll(WATCH_S)) break;
    }
    if (this.#pending()) void this.#listen();
  }

  // Replies that take longer (a lock the server waits for) arrive here, without blocking anything.
  async #listen() {
    if (this.#listening) return;
    this.#listening = true;
    try {
      while (this.#pending() && !this.#replies.closed) {
        if (await this.#replies.pollAsync(0.05)) this.#drain(false);
      }
    } finally {
      this.#listening = false;
    }
  }

  close() {
    this.#replies.close();
  }
}
