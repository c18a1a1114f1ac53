import { MAX_CATCH_UP, type ChangesMessage } from "../live/protocol";

/** How long after a delivery fails, with nothing sent after it, a reset is tried; doubled at each try, up to RETRY_MOST_MS. */
export const RETRY_FIRST_MS = 1000;
const RETRY_MOST_MS = 30_000;
/**
 * Tries on a timer before the outbox waits for the next delivery instead: a relay that fails this
 * long (about 3 min) is broken, and a pending timer keeps the show's object from being evicted.
 */
const MOST_RETRIES = 10;

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
  /** A delivery failed: the next delivery is a reset, whatever it was going to be. */
  private resetOwed = false;
  /** Counts `clear()` calls, so that a delivery sent before one is not held against the relay after. */
  private cleared = 0;
  /** The owed reset's next try, when nothing else is sent meanwhile (a sold-out show may send nothing more). */
  private retry: ReturnType<typeof setTimeout> | null = null;
  private retryMs = RETRY_FIRST_MS;
  private retries = 0;

  /**
   * `send` delivers one message and settles when the relay has answered, rejecting when it could
   * not. Deliveries never overlap: calls on different stubs are not ordered, so a second call in
   * flight could overtake the first.
   */
  constructor(
    private readonly send: (delivery: Delivery) => Promise<void>,
    /** Called each time the outbox has sent what it had (see `idle`). */
    private readonly settled: () => void = () => {},
  ) {}

  /** Nothing in flight, waiting or owed: the relay has been sent everything made for it. */
  get idle(): boolean {
    return !this.sending && this.waiting.length === 0 && !this.resetOwed;
  }

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
    [this.retryMs, this.retries] = [RETRY_FIRST_MS, 0];
  }

  private async drain(): Promise<void> {
    this.sending = true;
    for (let next = this.waiting.shift(); next !== undefined; next = this.waiting.shift()) {
      const cleared = this.cleared;
      try {
        await this.send(next);
        if (next.kind === "reset") [this.retryMs, this.retries] = [RETRY_FIRST_MS, 0];
      } catch {
        // The relay may have missed the batch (its watchers would see the gap only at a next batch,
        // which a sold-out show may never send), or the reset (leaving them on an old layout, whose
        // batches the new ones do not follow): the next delivery is a reset, or, when none comes,
        // a reset alone a moment later. Not for a relay forgotten meanwhile: it reads the show
        // afresh when it subscribes again.
        if (cleared === this.cleared) {
          if (this.waiting.length === 0) this.owe();
          else if (this.waiting[0]!.kind === "batch") this.waiting = [{ kind: "reset" }];
        }
      }
    }
    this.sending = false;
    this.settled();
  }

  /** The next delivery is a reset; and if none comes before the retry is due, the retry is one. */
  private owe(): void {
    this.resetOwed = true;
    if (this.retry !== null || this.retries >= MOST_RETRIES) return;
    this.retries++;
    this.retry = setTimeout(() => {
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
