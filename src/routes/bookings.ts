import type { IRequest } from "itty-router";
import { readJsonObject } from "../http/body";
import { HttpError, json } from "../http/responses";
import { BookSeatBody, parseBody } from "../http/validation";
import { publicId } from "../ids";
import { notFound } from "./errors";
import { showObject } from "./stubs";

/** `POST /api/book-seat/`: the old system's route, with its body, statuses and messages. */
export async function bookSeat(request: IRequest, env: Env): Promise<Response> {
  const { show_id, seat_id, user_id } = parseBody(BookSeatBody, await readJsonObject(request));
  const result = await showObject(env, show_id).book(seat_id, user_id);
  if (result.ok) {
    return json({ message: "Seat booked successfully", booking: result.booking });
  }
  if (result.reason === "taken") {
    throw new HttpError(409, "Seat is already booked by another user", {
      show_id: publicId(show_id),
      seat_id: publicId(seat_id),
    });
  }
  throw notFound(result.reason, show_id, seat_id);
}
