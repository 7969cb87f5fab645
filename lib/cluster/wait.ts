// How a cluster object waits for a change another host makes: it listens on the object's channel
// first, then looks, then sleeps until a message or the deadline, and looks again. A message that
// comes between the look and the sleep is not lost, since the listener was there before the look.
import { checkTimeout, deadline } from '../waiting.ts';
import type { Link } from './link.ts';

/** Resolves with true once `ready()` does, or false at the timeout (seconds; null: none). */
export async function waitFor(link: Link, channel: string, ready: () => Promise<boolean>, timeout: number | null = null, signal?: AbortSignal): Promise<boolean> {
  checkTimeout(timeout);
  signal?.throwIfAborted();
  let wake: (() => void) | null = null;
  const stop = await link.listen(channel, () => wake?.());
  const onAbort = () => wake?.();
  signal?.addEventListener('abort', onAbort);
  const end = deadline(timeout);
  try {
    for (;;) {
      if (await ready()) return true;
      signal?.throwIfAborted();
      const left = end - performance.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = left === Infinity ? undefined : setTimeout(resolve, left);
        wake = () => { clearTimeout(timer); resolve(); };
      });
      wake = null;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stop();
  }
}
