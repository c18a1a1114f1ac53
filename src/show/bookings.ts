import { publicId, type Id } from "../ids";
import { newRef } from "../random";
import * as q from "./queries";
import { newToken } from "./tokens";
import type { Booking, Origin, SeatStatus } from "./types";

/**
 * Sells one seat: stores the booking with the hash of a new booking token and logs the change.
 * The caller has checked the seat is free, in the same synchronous call and transaction; the
 * UNIQUE constraint on `bookings.seat_id` refuses a second sale whatever the caller did.
 */
export function recordBooking(
  sql: SqlStorage,
  sale: { showId: Id; seat: Id; user: Id | null; hold: string | null; from: SeatStatus; origin: Origin; at: number },
): Booking {
  const id = newRef(sale.showId);
  const { token, hash } = newToken("bt");
  const pass = sale.origin.pass ?? null;
  q.insertBooking(sql, { id, seat: sale.seat, user: sale.user, at: sale.at, tokenHash: hash, hold: sale.hold, pass });
  q.audit(sql, { seat: sale.seat, from: sale.from, to: "booked", origin: sale.origin, at: sale.at, ref: id });
  return {
    id,
    show_id: publicId(sale.showId),
    seat_id: publicId(sale.seat),
    user_id: sale.user === null ? null : publicId(sale.user),
    booked_at: new Date(sale.at).toISOString(),
    booking_token: token,
  };
}

/** Cancels a booking and logs its seat as available again (inside the caller's transaction). */
export function cancelRecordedBooking(
  sql: SqlStorage,
  { id, seat, origin, at }: { id: string; seat: Id; origin: Origin; at: number },
): void {
  q.deleteBooking(sql, { id });
  q.audit(sql, { seat, from: "booked", to: "available", origin, at, ref: id });
}

/** Cancels every booking of the show, logging each seat; returns how many there were. */
export function cancelAllBookings(sql: SqlStorage, { origin, at }: { origin: Origin; at: number }): number {
  const bookings = q.allBookings(sql);
  for (const { id, seat_id: seat } of bookings) cancelRecordedBooking(sql, { id, seat, origin, at });
  return bookings.length;
}
