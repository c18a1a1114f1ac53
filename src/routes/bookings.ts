import { HttpError, json, versionHeader } from "../http/responses";
import { failureToHttp } from "../http/failures";
import { publicId } from "../ids";
import { adminOrigin, originOf } from "./origin";
import type { Handler } from "./router";
import { callShow } from "./stubs";

/** `POST /api/book-seat/`: the old system's route, with its body, statuses and messages. */
export const bookSeat: Handler<"bookSeat"> = async (
  { body: { show_id, seat_id, user_id }, idempotency, route, pass },
  env,
) => {
  const result = await callShow(
    env,
    show_id,
    (show) => show.book([seat_id], user_id, originOf(route, user_id, pass), idempotency),
    { repeatable: idempotency !== null },
  );
  if (result.ok) return json({ message: "Seat booked successfully", booking: result.bookings[0] });
  if (result.reason === "unavailable") {
    // The old system's answer, word for word, whether the seat is booked, held or blocked.
    throw new HttpError(409, "Seat is already booked by another user", {
      show_id: publicId(show_id),
      seat_id: publicId(seat_id),
    });
  }
  throw failureToHttp(result, { showId: show_id, seatId: seat_id });
};

/** `POST /api/shows/:show_id/bookings`: books every seat named, or none. */
export const bookSeats: Handler<"bookSeats"> = async ({ params, body, idempotency, route, pass }, env) => {
  const result = await callShow(
    env,
    params.show_id,
    (show) => show.book(body.seat_ids, body.user_id, originOf(route, body.user_id, pass), idempotency, true),
    { repeatable: idempotency !== null },
  );
  if (!result.ok) throw failureToHttp(result, { showId: params.show_id });
  return json({ message: "Seats booked successfully", bookings: result.bookings }, 200, versionHeader(result.version));
};

/**
 * `DELETE /api/bookings/:booking_id`: cancels a booking and frees its seat. Needs the
 * booking's own token or the admin token; anyone else's token gets 403.
 */
export const cancelBooking: Handler<"cancelBooking"> = async ({ params, token, route }, env) => {
  const { ref: bookingId, showId } = params.booking_id;
  const result = await callShow(
    env,
    showId,
    (show) =>
      show.cancelBooking(
        bookingId,
        token.asAdmin ? null : token.token,
        token.asAdmin,
        token.asAdmin ? adminOrigin(route) : originOf(route, null),
      ),
    // A repeat of a cancellation that was made would answer 404.
    { repeatable: false },
  );
  if (!result.ok) throw failureToHttp(result, { showId, bookingId });
  return json({ message: "Booking cancelled", booking_id: bookingId });
};
