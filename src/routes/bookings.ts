import type { IRequest } from "itty-router";
import { isAdminToken, requireBearer } from "../http/auth";
import { readJsonObject } from "../http/body";
import { idempotencyKey } from "../http/idempotency";
import { HttpError, json } from "../http/responses";
import { BookSeatBody, GroupBookingBody, parseBody, parsePathId, parseRef } from "../http/validation";
import { publicId } from "../ids";
import { failureToHttp } from "./failures";
import { originOf } from "./origin";
import { callShow } from "./stubs";

/** `POST /api/book-seat/`: the old system's route, with its body, statuses and messages. */
export async function bookSeat(request: IRequest, env: Env): Promise<Response> {
  const raw = await readJsonObject(request);
  const { show_id, seat_id, user_id } = parseBody(BookSeatBody, raw);
  request.logShowId = show_id;
  const idempotency = await idempotencyKey(request, { show_id, seat_id, user_id });
  const result = await callShow(env, show_id, (show) =>
    show.book([seat_id], user_id, originOf(request, user_id), idempotency),
  );
  if (result.ok) {
    return json({ message: "Seat booked successfully", booking: result.bookings[0] });
  }
  if (result.reason === "unavailable") {
    // The old system's answer, word for word, whether the seat is booked, held or blocked.
    throw new HttpError(409, "Seat is already booked by another user", {
      show_id: publicId(show_id),
      seat_id: publicId(seat_id),
    });
  }
  throw failureToHttp(result, { showId: show_id, seatId: seat_id });
}

/** `POST /api/shows/:show_id/bookings`: books every seat named, or none. */
export async function bookSeats(request: IRequest, env: Env): Promise<Response> {
  const showId = parsePathId("show_id", request.params.show_id);
  const raw = await readJsonObject(request);
  const { seat_ids, user_id } = parseBody(GroupBookingBody, raw);
  const idempotency = await idempotencyKey(request, { show_id: showId, seat_ids, user_id });
  const result = await callShow(env, showId, (show) =>
    show.book(seat_ids, user_id, originOf(request, user_id), idempotency),
  );
  if (!result.ok) throw failureToHttp(result, { showId });
  return json({ message: "Seats booked successfully", bookings: result.bookings });
}

/**
 * `DELETE /api/bookings/:booking_id`: cancels a booking and frees its seat. Needs the
 * booking's own token or the admin token; anyone else's token gets 403.
 */
export async function cancelBooking(request: IRequest, env: Env): Promise<Response> {
  const { ref: bookingId, showId } = parseRef("booking_id", request.params.booking_id);
  const token = requireBearer(request, "booking_token");
  const asAdmin = await isAdminToken(token, env);
  const result = await callShow(env, showId, (show) =>
    show.cancelBooking(bookingId, asAdmin ? null : token, asAdmin, originOf(request, asAdmin ? "admin" : null)),
  );
  if (!result.ok) throw failureToHttp(result, { showId, bookingId });
  return json({ message: "Booking cancelled", booking_id: bookingId });
}
