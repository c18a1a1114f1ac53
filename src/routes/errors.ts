import { HttpError } from "../http/responses";
import { publicId, type Id } from "../ids";

/** The 404 for a show or seat the object does not know. */
export function notFound(reason: "unknown_show" | "unknown_seat", showId: Id, seatId?: Id): HttpError {
  if (reason === "unknown_show" || seatId === undefined) {
    return new HttpError(404, "Show not found", { show_id: publicId(showId) });
  }
  return new HttpError(404, "Seat not found", { show_id: publicId(showId), seat_id: publicId(seatId) });
}
