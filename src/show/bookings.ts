import { publicId, type Id } from "../ids";
import { newRef } from "../random";
import * as q from "./queries";
import { newToken } from "./tokens";
import type { Booking, Failure, Origin } from "./types";

/**
 * Sells one seat: stores the booking with the hash of a new booking token and logs the change, in
 * one statement that first checks the seat is free (see `q.sell`). Throws, having changed
 * nothing, when it is not; the caller finds out why (see `sellFreeSeats`). The UNIQUE constraint
 * on `bookings.seat_id` refuses a second sale whatever the caller did.
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
  q.sell(sql, { id, seat, user, at, tokenHash: hash, hold, from, origin });
  return {
    id,
    show_id: publicId(sale.showId),
    seat_id: publicId(seat),
    user_id: user === null ? null : publicId(user),
    booked_at: new Date(at).toISOString(),
    booking_token: token,
  };
}

/** What a sale asks of the show's seat index (see `Seating`). */
export interface SeatCheck {
  /** Whether every seat looked free when the index last looked: a hint, never a decision. */
  seemFree(seats: Id[]): boolean;
  /** The database's refusal naming the seats that are not free, or null when all are. */
  refuseUnlessAvailable(seats: Id[], now: number): Failure | null;
  /** Brings the index up to the log, after a sale found a seat it thought free taken. */
  catchUp(): void;
}

/**
 * Sells free seats, all or none. Whether each is free is decided by the statement that sells it
 * (see `recordBooking`); one seat is one statement, atomic by itself, and several take a
 * transaction. A seat the index already knows is taken is refused by a query instead, before any
 * statement, since a refused statement throws, and an exception costs several times a query: in a
 * race for one seat, every buyer but the first two is refused that way. When a statement does
 * refuse a seat, nothing is sold, the index catches up, and the refusal names the seats that were
 * not free. Any other error is thrown, whatever the other seats are.
 */
export function sellFreeSeats(
  storage: DurableObjectStorage,
  seats: Id[],
  sale: { showId: Id; user: Id | null; hold: null; origin: Origin; at: number },
  seatIndex: SeatCheck,
): Booking[] | Failure {
  if (!seatIndex.seemFree(seats)) {
    const refused = seatIndex.refuseUnlessAvailable(seats, sale.at);
    if (refused) return refused;
  }
  const sell = (seat: Id) => recordBooking(storage.sql, { ...sale, seat, from: "available" });
  try {
    return seats.length === 1 ? [sell(seats[0]!)] : storage.transactionSync(() => seats.map(sell));
  } catch (error) {
    if (!q.isRefusedSale(error)) throw error;
    seatIndex.catchUp();
    const refused = seatIndex.refuseUnlessAvailable(seats, sale.at);
    if (refused) return refused;
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
