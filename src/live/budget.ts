/** Messages a watcher may send: a burst of this many… */
export const MESSAGE_BURST = 5;
/** …refilled at this many a second. */
export const MESSAGES_PER_SECOND = 2;

/**
 * A token bucket per socket: a client may send a few messages a second (resyncs after a gap, a
 * reconnect's catch-up); one that sends more is a client to close, not to serve.
 */
export class MessageBudget {
  private tokens = MESSAGE_BURST;
  private refilledAt: number;

  constructor(now: number) {
    this.refilledAt = now;
  }

  /** Spends one message; false when the client has none left. */
  spend(now: number): boolean {
    this.tokens = Math.min(MESSAGE_BURST, this.tokens + ((now - this.refilledAt) / 1000) * MESSAGES_PER_SECOND);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
