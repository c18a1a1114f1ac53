import { DurableObject } from "cloudflare:workers";
import { publicId, type Id } from "../ids";
import { applyMigrations } from "../storage/migrations";
import { SHOW_MIGRATIONS } from "./schema";
import type {
  BookResult,
  Booking,
  ConfigureResult,
  ResetSeatResult,
  ResetShowResult,
  SeatMap,
  ShowLayout,
  ShowSummary,
} from "./types";

interface ShowRow extends Record<string, SqlStorageValue> {
  show_id: string;
  name: string;
}

/**
 * One show: its seats and its bookings, in this object's own SQLite database.
 *
 * The object runs one call at a time and every method here is synchronous, so a
 * check and the write it guards can never interleave with another booking. The
 * UNIQUE constraint on `bookings.seat_id` stands behind that as the last guard.
 * Methods return domain results; the Worker turns them into HTTP.
 */
export class Show extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** The show's name and id, cached: read on every booking, changed only by `configure`. */
  private info: ShowRow | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    void ctx.blockConcurrencyWhile(async () => {
      applyMigrations(ctx.storage, SHOW_MIGRATIONS);
      this.info = this.readInfo();
    });
  }

  /**
   * Creates the show or changes its name and layout. Seats keep their bookings;
   * a layout that leaves out a sold seat is refused as a whole.
   */
  configure(layout: ShowLayout): ConfigureResult {
    const wanted = new Set(layout.seatIds);
    const droppedBooked = this.sql
      .exec<{ seat_id: string }>("SELECT seat_id FROM bookings")
      .toArray()
      .filter((row) => !wanted.has(row.seat_id))
      .map((row) => publicId(row.seat_id));
    if (droppedBooked.length > 0) {
      return { ok: false, reason: "would_drop_booked_seats", seat_ids: droppedBooked };
    }

    const created = this.info === null;
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(
        `INSERT INTO show (singleton, show_id, name, created_at, updated_at) VALUES (1, ?, ?, ?, ?)
         ON CONFLICT (singleton) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at`,
        layout.showId,
        layout.name,
        now,
        now,
      );
      for (const { seat_id } of this.sql.exec<{ seat_id: string }>("SELECT seat_id FROM seats").toArray()) {
        if (!wanted.has(seat_id)) this.sql.exec("DELETE FROM seats WHERE seat_id = ?", seat_id);
      }
      layout.seatIds.forEach((seatId, position) => {
        this.sql.exec(
          `INSERT INTO seats (seat_id, position) VALUES (?, ?)
           ON CONFLICT (seat_id) DO UPDATE SET position = excluded.position`,
          seatId,
          position,
        );
      });
    });
    this.info = this.readInfo();
    return { ok: true, created, show: this.summaryOf(this.info!) };
  }

  /** Sells one seat, or says why not. No `await` may ever stand between the check and the insert. */
  book(seatId: Id, userId: Id | null): BookResult {
    const show = this.info;
    if (show === null) return { ok: false, reason: "unknown_show" };

    const seat = this.sql
      .exec<{ booked: number }>(
        "SELECT EXISTS (SELECT 1 FROM bookings WHERE seat_id = ?) AS booked FROM seats WHERE seat_id = ?",
        seatId,
        seatId,
      )
      .toArray()[0];
    if (seat === undefined) return { ok: false, reason: "unknown_seat" };
    if (seat.booked) return { ok: false, reason: "taken" };

    const bookedAt = Date.now();
    const id = crypto.randomUUID();
    this.sql.exec(
      "INSERT INTO bookings (id, seat_id, user_id, booked_at) VALUES (?, ?, ?, ?)",
      id,
      seatId,
      userId,
      bookedAt,
    );
    const booking: Booking = {
      id,
      show_id: publicId(show.show_id),
      seat_id: publicId(seatId),
      user_id: userId === null ? null : publicId(userId),
      booked_at: new Date(bookedAt).toISOString(),
    };
    return { ok: true, booking };
  }

  /** Every seat in layout order with its status. Null when the show does not exist. */
  seatMap(): SeatMap | null {
    const show = this.info;
    if (show === null) return null;
    const seats = this.sql
      .exec<{ seat_id: string; booked: number }>(
        `SELECT s.seat_id, b.id IS NOT NULL AS booked
           FROM seats s LEFT JOIN bookings b ON b.seat_id = s.seat_id
          ORDER BY s.position`,
      )
      .toArray()
      .map((row) => ({
        seat_id: publicId(row.seat_id),
        status: row.booked ? ("booked" as const) : ("available" as const),
      }));
    const booked = seats.filter((seat) => seat.status === "booked").length;
    return {
      show_id: publicId(show.show_id),
      name: show.name,
      seats,
      counts: { total: seats.length, available: seats.length - booked, booked },
    };
  }

  /** Name, capacity and free seats; null when the show does not exist. */
  summary(): ShowSummary | null {
    return this.info === null ? null : this.summaryOf(this.info);
  }

  /** Releases one seat's booking (the old system's "reset a seat"). Releasing a free seat is not an error. */
  resetSeat(seatId: Id): ResetSeatResult {
    if (this.info === null) return { ok: false, reason: "unknown_show" };
    const exists = this.sql.exec("SELECT 1 FROM seats WHERE seat_id = ?", seatId).toArray().length > 0;
    if (!exists) return { ok: false, reason: "unknown_seat" };
    const released = this.sql.exec("DELETE FROM bookings WHERE seat_id = ?", seatId).rowsWritten > 0;
    return { ok: true, released };
  }

  /** Releases every booking of the show. */
  resetAll(): ResetShowResult {
    if (this.info === null) return { ok: false, reason: "unknown_show" };
    const released = this.sql.exec("DELETE FROM bookings").rowsWritten;
    return { ok: true, released };
  }

  private summaryOf(show: ShowRow): ShowSummary {
    const counts = this.sql
      .exec<{ capacity: number; booked: number }>(
        "SELECT (SELECT COUNT(*) FROM seats) AS capacity, (SELECT COUNT(*) FROM bookings) AS booked",
      )
      .one();
    return {
      show_id: publicId(show.show_id),
      name: show.name,
      capacity: counts.capacity,
      available: counts.capacity - counts.booked,
    };
  }

  private readInfo(): ShowRow | null {
    return this.sql.exec<ShowRow>("SELECT show_id, name FROM show").toArray()[0] ?? null;
  }
}
