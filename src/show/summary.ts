import type { SummaryPush } from "./types";

/** How long after a change the show tells the catalog, so that a burst of changes makes one push. */
export const SUMMARY_PUSH_DELAY_MS = 1000;

/**
 * Keeps the catalog's copy of this show's summary current, off the booking's path: a change
 * only notes that a push is due (the object's alarm is set for it), and the alarm pushes the
 * summary as it then is. A burst of bookings makes one push a second at most. The state last
 * pushed is remembered, so an unchanged summary is not pushed again; after an eviction it is
 * forgotten, and the next alarm pushes once more, which changes nothing at the catalog.
 */
export class SummaryPublisher {
  /** When the next push is due (ms), or Infinity when none is. */
  dueAt = Infinity;
  private pushed: string | undefined;

  constructor(private readonly push: (summary: SummaryPush) => Promise<void>) {}

  /** Notes a change; true when a push was not yet due, so the alarm must be set for it. */
  changed(now: number): boolean {
    if (this.dueAt !== Infinity) return false;
    this.dueAt = now + SUMMARY_PUSH_DELAY_MS;
    return true;
  }

  /** Pushes `summary` unless the catalog already has it. A failed push is logged and stays due. */
  async pushIfChanged(summary: SummaryPush, now: number): Promise<void> {
    const state = JSON.stringify(summary);
    this.dueAt = Infinity;
    if (state === this.pushed) return;
    try {
      await this.push(summary);
      this.pushed = state;
    } catch (error) {
      this.dueAt = now + SUMMARY_PUSH_DELAY_MS;
      console.error(JSON.stringify({ message: "summary push failed", show_id: summary.showId, error: String(error) }));
    }
  }
}
