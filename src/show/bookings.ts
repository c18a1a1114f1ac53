import { publicId, type Id } from "../ids";
import { newRef } from "../random";
import * as q from "./queries";
import { newToken } from "./tokens";
import type { Booking, Failure, Origin } from "./types";

/**
 * Sells one seat: stores the booking with the hash of a new booking token and logs the change, in
 * one statement that first checks the seat is free (see \`q.sell\`). Throws, having changed
 * nothing, when it is not; the caller finds out why (see \`Show.book\`). The UNIQUE constraint on
 * \`bookings.seat_id\` refuses a second sale whatever the caller did.
 */
export function recordBooking(
  sql: SqlStorage,
  sale: {
    showId: Id;
    seat: Id;
    user: Id | null;
    hold: string | null;
    from: "available" | "held";
    origin: Origin;
    at: number;
  },
): Booking {
  const id = newRef(sale.showId);
  const { token, hash } = newToken("bt");
  const { seat, user, hold, from, origin, at } = sale;
  q.sell(sql, { id, seat, user, at, tokenHash: hash, hold, pass: origin.pass ?? null, from, origin });
  return {
    id,
    show_id: publicId(sale.showId),
    seat_id: publicId(seat),
    user_id: user === null ? null : publicId(user),
    booked_at: new Date(at).toISOString(),
    booking_token: token,
  };
}

/**
 * Sells free seats, all or none. Whether each is free is checked by the statement that sells it
 * (see \`recordBooking\`); one seat is one statement, atomic by itself, and several take a
 * transaction. When a seat was not free nothing is sold, and \`whyNot\` (run after) names the
 * seats that were not; an error it cannot explain that way is not a refusal, and is thrown.
 */
export function sellFreeSeats(
  storage: DurableObjectStorage,
  seats: Id[],
  sale: { showId: Id; user: Id | null; hold: null; origin: Origin; at: number },
  whyNot: () => Failure | null,
): Booking[] | Failure {
  const sell = (seat: Id) => recordBooking(storage.sql, { ...sale, seat, from: "available" });
  try {
    return seats.length === 1 ? [sell(seats[0]!)] : storage.transactionSync(() => seats.map(sell));
  } catch (error) {
    const refusal = whyNot();
    if (refusal) return refusal;
    throw error;
  }
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
