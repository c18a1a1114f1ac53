import { MAX_CATCH_UP, type ChangesMessage } from "../live/protocol";

/** What the show sends a relay: a batch of changes, or a reset (re-read the show: layout and snapshot). */
export type Delivery = { kind: "batch"; batch: ChangesMessage } | { kind: "reset" };

/**
 * One relay's deliveries, in the order they were made, one in flight at a time. What is made
 * while one is in flight waits, merged: consecutive batches join into one batch (from the first's
 * `since` to the last's `version`), and a reset replaces whatever waits, since the relay re-reads
 * the show anyway. So a relay that answers slowly (busy, or far away) gets fewer and larger
 * messages instead of a growing queue and gaps, and the show never holds more than two waiting
 * messages per relay. Waiting changes past MAX_CATCH_UP become a reset: a relay keeps no more
 * than that for its watchers either.
 */
export class RelayOutbox {
  /** What waits for the delivery in flight: at most a reset, then a batch. */
  private waiting: Delivery[] = [];
  private sending = false;

  /** `send` delivers one message and settles when the relay has answered; it does not throw. */
  constructor(private readonly send: (delivery: Delivery) => Promise<void>) {}

  push(delivery: Delivery): void {
    this.waiting = merged(this.waiting, delivery);
    if (!this.sending) void this.drain();
  }

  private async drain(): Promise<void> {
    this.sending = true;
    try {
      for (let next = this.waiting.shift(); next !== undefined; next = this.waiting.shift()) {
        await this.send(next);
      }
    } finally {
      this.sending = false;
    }
  }
}

function merged(waiting: Delivery[], delivery: Delivery): Delivery[] {
  if (delivery.kind === "reset") return [delivery];
  const last = waiting.at(-1);
  if (last?.kind !== "batch") return [...waiting, delivery];
  const [before, after] = [last.batch, delivery.batch];
  if (after.layout !== before.layout || after.since !== before.version) return [...waiting, delivery];
  const changes = [...before.changes, ...after.changes];
  if (changes.length > MAX_CATCH_UP) return [{ kind: "reset" }];
  return [...waiting.slice(0, -1), { kind: "batch", batch: { ...after, since: before.since, changes } }];
}
