import { HttpError } from "./responses";
import { publicId, type Id } from "../ids";
import type { Failure } from "../show/types";

/** What a failure is about, for the error body. */
export interface Subject {
  showId?: Id;
  /** Set by the routes about one seat, which answer "Seat not found" for it. */
  seatId?: Id;
  holdId?: string;
  bookingId?: string;
}

/**
 * Turns a domain failure from a show's object into the HTTP error a client sees. This is the one
 * place each failure gets its status and words ("Show not found" among them); the object's own
 * WebSocket route answers through it too.
 */
export function failureToHttp(failure: Failure, subject: Subject): HttpError {
  const show = subject.showId === undefined ? {} : { show_id: publicId(subject.showId) };
  switch (failure.reason) {
    case "unknown_show":
      return new HttpError(404, "Show not found", show);
    case "unknown_seats":
      return subject.seatId === undefined
        ? new HttpError(404, "Seats not found", { ...show, seat_ids: failure.seat_ids })
        : new HttpError(404, "Seat not found", { ...show, seat_id: publicId(subject.seatId) });
    case "unavailable":
      return new HttpError(409, "Seats are not available", { ...show, seat_ids: failure.seat_ids });
    case "seats_in_use":
      return new HttpError(409, "The new layout leaves out seats that are booked or held; free them first", {
        ...show,
        seat_ids: failure.seat_ids,
      });
    case "hold_not_found":
      return new HttpError(404, "Hold not found", { hold_id: subject.holdId });
    case "hold_expired":
      return new HttpError(410, "Hold has expired and its seats were released", { hold_id: subject.holdId });
    case "hold_released":
      return new HttpError(410, "Hold was released", { hold_id: subject.holdId });
    case "hold_confirmed":
      return new HttpError(409, "Hold was already confirmed", { hold_id: subject.holdId });
    case "booking_not_found":
      return new HttpError(404, "Booking not found", { booking_id: subject.bookingId });
    case "wrong_token":
      return new HttpError(403, "That token does not grant access to this " + (subject.holdId ? "hold" : "booking"));
    case "idempotency_mismatch":
      return new HttpError(422, "This Idempotency-Key was already used with a different request");
    case "order_too_large":
      return new HttpError(400, `This show allows at most ${failure.limit} seats in one hold or booking`, {
        ...show,
        field: failure.field ?? "seat_ids",
        limit: failure.limit,
      });
    case "pass_used_up":
      return new HttpError(
        403,
        `This admission pass has held or booked ${failure.used} of the ${failure.limit} seats one buyer may have`,
        { ...show, reason: "pass_used_up", limit: failure.limit, used: failure.used },
      );
    case "pass_revoked":
      return new HttpError(403, "This admission pass was given up when its buyer left; join the queue again", {
        ...show,
        reason: "pass_revoked",
      });
    case "unknown_category":
      return new HttpError(404, `This show's plan has no category '${failure.category}'`, {
        ...show,
        field: "category",
      });
    case "unknown_zone":
      // A zone of the plan with no seats (a stage, say) is no zone of the seat map either.
      return new HttpError(404, `This show's plan has no seats in zone '${failure.zone}'`, {
        ...show,
        field: "zone",
      });
    case "storage_full":
      return new HttpError(
        507,
        "This show's storage is nearly full, so it takes no new holds, no cancellations by booking token and no extensions of holds under a new Idempotency-Key; bookings still go through",
        show,
      );
    case "no_adjacent_seats":
      return new HttpError(409, "No block of that many adjacent available seats is left", show);
    case "too_many_watchers":
      return new HttpError(503, "This show has as many live watchers as it can take; retry shortly", show, {
        "retry-after": "5",
      });
    case "address_holds_too_many":
      return new HttpError(
        429,
        `This address already holds ${failure.held} seats of this show, and may hold at most ${failure.limit} at once; confirm or release a hold first`,
        { ...show, reason: "address_holds_too_many", limit: failure.limit, held: failure.held },
        { "retry-after": String(failure.retryAfter) },
      );
    case "too_many_watchers_from_address":
      return new HttpError(
        429,
        `This address has as many live seat maps of this show open as it may (${failure.limit} a relay); close one first`,
        { ...show, limit: failure.limit },
        { "retry-after": "30" },
      );
  }
}

/** What the platform says of a failed call to a Durable Object: it is overloaded, or the call may be retried. */
export function callFlags(error: unknown): { overloaded: boolean; retryable: boolean } {
  const flags = error as { overloaded?: unknown; retryable?: unknown } | null | undefined;
  return { overloaded: flags?.overloaded === true, retryable: flags?.retryable === true };
}

/** Whether a call that only reads failed because its object is overloaded or was briefly unreachable: a 503, not a bug. */
export function objectBusy(error: unknown): boolean {
  const { overloaded, retryable } = callFlags(error);
  return overloaded || retryable;
}

/** A show's object that is overloaded or briefly unreachable, as every route answers it: 503 with Retry-After. */
export function showBusy(showId: Id, message = "This show is briefly unavailable"): HttpError {
  return new HttpError(503, `${message}; retry shortly`, { show_id: publicId(showId) }, { "retry-after": "1" });
}
