import { publicId, type Id } from "../ids";
import { STATUS_CODES, type LayoutMessage, type SnapshotMessage } from "../live/protocol";
import type { FeedHost } from "./feed";
import * as q from "./queries";
import type { Failure, Origin, SeatCounts, SeatMap, ShowLayout, SummaryPush } from "./types";

/** Seats one hold or group booking may name when the show sets no limit of its own. */
export const DEFAULT_MAX_SEATS_PER_ORDER = 10;

/**
 * A show's name, layout and seat map, as the object keeps them in memory: the row and the seat
 * ids are read on every call and change only when the layout does, and the seat map's JSON is
 * built once per change rather than once per read.
 */
export class Seating implements FeedHost {
  /** Seat-map reads served since the object started, for its `stats()`. */
  reads = 0;
  /** The show's row; null until the show is created. */
  info: q.ShowRow | null = null;
  private seatIds = new Set<Id>();
  private mapCache: { version: number; json: string } | null = null;
  private layoutCache: LayoutMessage | null = null;
  private snapshotCache: SnapshotMessage | null = null;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly clock: () => number,
  ) {}

  private get sql(): SqlStorage {
    return this.storage.sql;
  }

  /** Reads the show and its layout again, after start-up or a layout change. */
  load(): void {
    this.info = q.readShow(this.sql);
    this.seatIds = new Set(q.seatIds(this.sql));
    this.mapCache = null;
    this.layoutCache = null;
    this.snapshotCache = null;
  }

  /**
   * Creates the show or changes its name, layout and order limit. Seats keep their bookings; a
   * layout that leaves out a booked or held seat is refused as a whole. A block on a dropped seat
   * goes, and the log says so.
   */
  apply(layout: ShowLayout, origin: Origin, now: number): Failure | null {
    const wanted = new Set(layout.seatIds);
    const statuses = q.seatStatuses(this.sql, { now });
    const inUse = statuses
      .filter((seat) => !wanted.has(seat.seat_id) && (seat.status === "booked" || seat.status === "held"))
      .map((seat) => publicId(seat.seat_id));
    if (inUse.length > 0) return { ok: false, reason: "seats_in_use", seat_ids: inUse };

    const maxSeatsPerOrder = layout.maxSeatsPerOrder ?? this.info?.max_seats_per_order ?? DEFAULT_MAX_SEATS_PER_ORDER;
    this.storage.transactionSync(() => {
      q.upsertShow(this.sql, { showId: layout.showId, name: layout.name, maxSeatsPerOrder, at: now });
      for (const { seat_id: seat, status } of statuses) {
        if (wanted.has(seat)) continue;
        if (status === "blocked") {
          const note = "seat removed from the layout";
          q.audit(this.sql, { seat, from: "blocked", to: "available", origin, at: now, note });
        }
        q.dropSeat(this.sql, { seat });
      }
      layout.seatIds.forEach((seat, position) => q.placeSeat(this.sql, { seat, position }));
    });
    this.load();
    return null;
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

  /** Like `refuseUnlessAvailable`, for a buyer's order: no more seats than the show's limit. */
  refuseOrder(seatIds: Id[], now: number): Failure | null {
    const limit = this.info!.max_seats_per_order;
    if (seatIds.length > limit) return { ok: false, reason: "order_too_large", limit };
    return this.refuseUnlessAvailable(seatIds, now);
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
   * The seat map as JSON text at `version` (the last change), reused until a seat changes. The
   * caller has swept expired holds, so nothing changes a status without a new version.
   */
  json(version: number): string {
    this.reads++;
    if (this.mapCache?.version !== version) {
      this.mapCache = { version, json: JSON.stringify(this.map()) };
    }
    return this.mapCache.json;
  }

  layoutVersion(): number {
    return this.info!.layout_version;
  }

  /** The live feed's layout message: the seats in layout order; built once per layout version. */
  layoutMessage(): LayoutMessage {
    const { show_id, name, layout_version } = this.info!;
    this.layoutCache ??= {
      type: "layout",
      layout: layout_version,
      show_id: publicId(show_id),
      name,
      seats: q.seatStatuses(this.sql, { now: this.clock() }).map((seat) => publicId(seat.seat_id)),
    };
    return this.layoutCache;
  }

  /** Every seat's status as one character each, in layout order, at `version`; built once per version. */
  snapshotMessage(version: number): SnapshotMessage {
    if (this.snapshotCache?.version !== version) {
      const statuses = q.seatStatuses(this.sql, { now: this.clock() }).map((seat) => STATUS_CODES[seat.status]);
      this.snapshotCache = {
        type: "snapshot",
        layout: this.info!.layout_version,
        version,
        statuses: statuses.join(""),
      };
    }
    return this.snapshotCache;
  }

  /** Name, capacity and free seats, and the state they describe (the show exists). */
  summary(version: number): SummaryPush {
    const { show_id, name, layout_version } = this.info!;
    const { total, available } = q.seatCounts(this.sql, { now: this.clock() });
    return { showId: show_id, name, capacity: total, available, layout: layout_version, version };
  }
}
