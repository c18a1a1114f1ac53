import { MAX_CATCH_UP, type ChangesMessage } from "../live/protocol";

/** What the show sends a relay: a batch of changes, or a reset (re-read the show: layout and snapshot). */
export type Delivery = { kind: "batch"; batch: ChangesMessage } | { kind: "reset" };

/** How long the show waits for a relay to answer one delivery before it sends the next. */
export const DELIVERY_TIMEOUT_MS = 10_000;

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

  /**
   * `send` delivers one message and settles when the relay has answered, rejecting when it could
   * not. One that has not settled after `timeoutMs` counts as failed, and the next goes: a relay
   * that never answers must not hold the show's messages to it forever.
   */
  constructor(
    private readonly send: (delivery: Delivery) => Promise<void>,
    private readonly options: { timeoutMs?: number; onTimeout?: () => void } = {},
  ) {}

  push(delivery: Delivery): void {
    this.waiting = merged(this.waiting, this.resetOwed ? { kind: "reset" } : delivery);
    this.resetOwed = false;
    if (!this.sending) void this.drain();
  }

  /** Drops what waits (the relay is forgotten; it reads the show afresh when it subscribes again). */
  clear(): void {
    this.waiting = [];
    this.resetOwed = false;
  }

  private async drain(): Promise<void> {
    this.sending = true;
    for (let next = this.waiting.shift(); next !== undefined; next = this.waiting.shift()) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          this.options.onTimeout?.();
          reject(new Error("the relay did not answer in time"));
        }, this.options.timeoutMs ?? DELIVERY_TIMEOUT_MS);
      });
      try {
        await Promise.race([this.send(next), timedOut]);
      } catch {
        // A failed batch shows as a gap at the relay's next batch, and its watchers resync then. A
        // failed reset left the relay's view and its watchers where they were, which no later
        // batch would correct: the next delivery is a reset again.
        if (next.kind === "reset") this.resetOwed = this.waiting.length === 0;
        if (next.kind === "reset" && this.waiting[0]?.kind === "batch") this.waiting = [{ kind: "reset" }];
      } finally {
        clearTimeout(timer);
      }
    }
    this.sending = false;
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
