import { publicId, type Id } from "../ids";
import type { Failure } from "./types";

/** How often a show past its storage high-water mark says so in the log, at most. */
const LOG_EVERY_MS = 60_000;

/**
 * Keeps a show's database from filling up. Every change is logged (the audit log is append-only),
 * so clients who churn for free (hold and release, book and cancel) grow the database for as long
 * as they go on, within their rate limits; an object whose storage is full can write nothing, not
 * even a sale. Past the high-water mark (SHOW_STORAGE_HIGH_WATER_MB) the show refuses what starts
 * that churn, new holds, cancellations by booking token and extensions of holds under a new
 * Idempotency-Key (whose answers are kept a day), and says so in the log, while sales,
 * confirmations and the admin's changes go on in the room left.
 */
export class StorageGuard {
  private loggedAt = -Infinity;

  /**
   * @param highWater bytes of database past which churn is refused (tests lower it)
   * @param show the show, for the log
   */
  constructor(
    private readonly storage: DurableObjectStorage,
    public highWater: number,
    private readonly show: () => { show_id: Id } | null,
  ) {}

  /** Null while the database is below its high-water mark; else the refusal. */
  refuseChurn(now: number): Failure | null {
    const bytes = this.storage.sql.databaseSize;
    if (bytes <= this.highWater) return null;
    if (now - this.loggedAt >= LOG_EVERY_MS) {
      this.loggedAt = now;
      console.error(
        JSON.stringify({
          message:
            "show storage past its high-water mark: new holds, cancellations by booking token and keyed extensions refused",
          show_id: publicId(this.show()?.show_id ?? ""),
          bytes,
          high_water: this.highWater,
        }),
      );
    }
    return { ok: false, reason: "storage_full" };
  }
}
