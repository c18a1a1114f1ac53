import type { IRequest } from "itty-router";
import { requireAdmin } from "../http/auth";
import { readJsonObject } from "../http/body";
import { HttpError, json } from "../http/responses";
import { parseBody, parsePathId, ShowLayoutBody } from "../http/validation";
import { publicId } from "../ids";
import { notFound } from "./errors";
import { catalogObject, showObject } from "./stubs";

/** Admin routes check the token before reading anything else of the request. */
export async function withAdmin(request: IRequest, env: Env): Promise<void> {
  await requireAdmin(request, env);
}

/** `PUT /admin/shows/:show_id`: creates a show or changes its name and layout. */
export async function putShow(request: IRequest, env: Env): Promise<Response> {
  const showId = parsePathId("show_id", request.params.show_id);
  const { name, seats } = parseBody(ShowLayoutBody, await readJsonObject(request));
  const result = await showObject(env, showId).configure({ showId, name, seatIds: seats });
  if (!result.ok) {
    throw new HttpError(409, "The new layout leaves out seats that are booked; reset them first", {
      show_id: publicId(showId),
      seat_ids: result.seat_ids,
    });
  }
  // Registering is idempotent, so a PUT that failed here can simply be repeated.
  await catalogObject(env).register(showId);
  return json(
    { message: result.created ? "Show created" : "Show updated", show: result.show },
    result.created ? 201 : 200,
  );
}

/** `DELETE /admin/shows/:show_id/seats/:seat_id/booking`: frees one seat. */
export async function resetSeat(request: IRequest, env: Env): Promise<Response> {
  const showId = parsePathId("show_id", request.params.show_id);
  const seatId = parsePathId("seat_id", request.params.seat_id);
  const result = await showObject(env, showId).resetSeat(seatId);
  if (!result.ok) throw notFound(result.reason, showId, seatId);
  return json({
    message: result.released ? "Seat reset" : "Seat was not booked",
    show_id: publicId(showId),
    seat_id: publicId(seatId),
    released: result.released,
  });
}

/** `DELETE /admin/shows/:show_id/bookings`: frees every seat of a show. */
export async function resetShow(request: IRequest, env: Env): Promise<Response> {
  const showId = parsePathId("show_id", request.params.show_id);
  const result = await showObject(env, showId).resetAll();
  if (!result.ok) throw notFound(result.reason, showId);
  return json({ message: "Show reset", show_id: publicId(showId), released: result.released });
}
