import { publicId, type Id } from "../ids";
import * as q from "./queries";
import type { Failure, SeatCounts, SeatMap, ShowSummary } from "./types";

/**
 * A show's name, layout and seat map, as the object keeps them in memory: the row and the seat
 * ids are read on every call and change only when the layout does, and the seat map's JSON is
 * built once per change rather than once per read.
 */
export class Seating {
  /** The show's row; null until the show is created. */
  info: q.ShowRow | null = null;
  private seatIds = new Set<Id>();
  private mapCache: { version: number; json: string } | null = null;

  constructor(
    private readonly sql: SqlStorage,
    private readonly clock: () => number,
  ) {}

  /** Reads the show and its layout again, after start-up or a layout change. */
  load(): void {
    this.info = q.readShow(this.sql);
    this.seatIds = new Set(q.seatIds(this.sql));
    this.mapCache = null;
  }

  /** Failure naming the seats the layout does not have, or null when it has them all. */
  unknownSeats(seatIds: Id[]): Failure | null {
    const unknown = seatIds.filter((seatId) => !this.seatIds.has(seatId));
    return unknown.length > 0 ? { ok: false, reason: "unknown_seats", seat_ids: unknown.map(publicId) } : null;
  }

  /** Null when every seat exists and is available; otherwise the failure naming the others. */
  refuseUnlessAvailable(seatIds: Id[], now: number): Failure | null {
    const unknown = this.unknownSeats(seatIds);
    if (unknown) return unknown;
    const unavailable = seatIds.filter((seat) => q.seatStatus(this.sql, { seat, now }) !== "available");
    return unavailable.length > 0 ? { ok: false, reason: "unavailable", seat_ids: unavailable.map(publicId) } : null;
  }

  /** Every seat in layout order with its status, and the counts (the show exists). */
  map(): SeatMap {
    const seats = q
      .seatStatuses(this.sql, { now: this.clock() })
      .map((seat) => ({ seat_id: publicId(seat.seat_id), status: seat.status }));
    const counts: SeatCounts = { total: seats.length, available: 0, held: 0, booked: 0, blocked: 0 };
    for (const seat of seats) counts[seat.status]++;
    return { show_id: publicId(this.info!.show_id), name: this.info!.name, seats, counts };
  }

  /**
   * The seat map as JSON text. Reused until a seat changes (`version`) or a hold may have expired
   * (`stale`), so a crowd reading the map costs the object almost nothing.
   */
  json(version: number, stale: boolean): string {
    if (this.mapCache?.version !== version || stale) {
      this.mapCache = { version, json: JSON.stringify(this.map()) };
    }
    return this.mapCache.json;
  }

  summary(): ShowSummary {
    const { show_id, name, counts } = this.map();
    return { show_id, name, capacity: counts.total, available: counts.available };
  }
}
