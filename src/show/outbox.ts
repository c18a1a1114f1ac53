import { MAX_CATCH_UP, type ChangesMessage } from "../live/protocol";

/** How long after a reset fails, with nothing sent after it, it is tried again; doubled at each failure, up to RETRY_MOST_MS. */
export const RETRY_FIRST_MS = 1000;
const RETRY_MOST_MS = 30_000;

/** What the show sends a relay: a batch of changes, or a reset (re-read the show: layout and snapshot). */
export type Delivery = { kind: "batch"; batch: ChangesMessage } | { kind: "reset" };

/**
 * One relay's deliveries, in the order they were made, one in flight at a time. What is made
 * while one is in flight waits, merged: consecutive batches join into one batch (from the first's
 * `since` to the last's `version`), and a reset replaces whatever waits, since the relay re-reads
 * the show anyway. So a relay that answers slowly (busy, or far away) gets fewer and larger
 * messages instead of a growing queue and gaps, and at most a reset and one batch wait. Batches
 * that would join into more than MAX_CATCH_UP changes (a relay keeps no more than that for its
 * watchers), or that do not follow on from the one waiting, become a reset instead.
 */
export class RelayOutbox {
  /** What waits for the delivery in flight: at most a reset, then one batch. */
  private waiting: Delivery[] = [];
  private sending = false;
  /** A reset failed: the next delivery is a reset, whatever it was going to be. */
  private resetOwed = false;
  /** Counts `clear()` calls, so that a delivery sent before one is not held against the relay after. */
  private cleared = 0;
  /** The owed reset's next try, when nothing else is sent meanwhile (a sold-out show may send nothing more). */
  private retry: ReturnType<typeof setTimeout> | null = null;
  private retryMs = RETRY_FIRST_MS;

  /**
   * `send` delivers one message and settles when the relay has answered, rejecting when it could
   * not. Deliveries never overlap: calls on different stubs are not ordered, so a second call in
   * flight could overtake the first.
   */
  constructor(private readonly send: (delivery: Delivery) => Promise<void>) {}

  push(delivery: Delivery): void {
    this.waiting = merged(this.waiting, this.resetOwed ? { kind: "reset" } : delivery);
    this.resetOwed = false;
    if (!this.sending) void this.drain();
  }

  /** Drops what waits (the relay is forgotten; it reads the show afresh when it subscribes again). */
  clear(): void {
    this.waiting = [];
    this.resetOwed = false;
    this.cleared++;
    if (this.retry !== null) clearTimeout(this.retry);
    this.retry = null;
    this.retryMs = RETRY_FIRST_MS;
  }

  private async drain(): Promise<void> {
    this.sending = true;
    for (let next = this.waiting.shift(); next !== undefined; next = this.waiting.shift()) {
      const cleared = this.cleared;
      try {
        await this.send(next);
        if (next.kind === "reset") this.retryMs = RETRY_FIRST_MS;
      } catch {
        // A failed batch shows as a gap at the relay's next batch, and its watchers resync then. A
        // failed reset may leave the relay and its watchers on the old layout, whose batches the
        // new ones do not follow: the next delivery is a reset again, or, when none comes, a reset
        // alone a moment later (unless the relay was forgotten meanwhile, and so reads the show
        // afresh when it subscribes again).
        if (next.kind === "reset" && cleared === this.cleared) {
          if (this.waiting.length === 0) this.owe();
          else if (this.waiting[0]!.kind === "batch") this.waiting = [{ kind: "reset" }];
        }
      }
    }
    this.sending = false;
  }

  /** The next delivery is a reset; and if none comes before the retry is due, the retry is one. */
  private owe(): void {
    this.resetOwed = true;
    this.retry ??= setTimeout(() => {
      this.retry = null;
      if (this.resetOwed) this.push({ kind: "reset" });
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MOST_MS);
  }
}

function merged(waiting: Delivery[], delivery: Delivery): Delivery[] {
  if (delivery.kind === "reset") return [delivery];
  const last = waiting.at(-1);
  if (last?.kind !== "batch") return [...waiting, delivery];
  const [before, after] = [last.batch, delivery.batch];
  const changes = [...before.changes, ...after.changes];
  if (after.layout !== before.layout || after.since !== before.version || changes.length > MAX_CATCH_UP) {
    return [{ kind: "reset" }];
  }
  return [...waiting.slice(0, -1), { kind: "batch", batch: { ...after, since: before.since, changes } }];
}
