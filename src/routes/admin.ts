import type { IRequest } from "itty-router";
import { readJsonObject } from "../http/body";
import { idempotencyKey } from "../http/idempotency";
import { json } from "../http/responses";
import { AuditLogQuery, BlockBody, parseBody, parsePathId, ShowLayoutBody, UnblockBody } from "../http/validation";
import { publicId } from "../ids";
import { failureToHttp } from "./failures";
import { originOf } from "./origin";
import { callShow, catalogObject } from "./stubs";

/** `PUT /admin/shows/:show_id`: creates a show or changes its name and layout. */
export async function putShow(request: IRequest, env: Env): Promise<Response> {
  const showId = parsePathId("show_id", request.params.show_id);
  const { name, seats } = parseBody(ShowLayoutBody, await readJsonObject(request));
  const result = await callShow(env, showId, (show) => show.configure({ showId, name, seatIds: seats }));
  if (!result.ok) throw failureToHttp(result, { showId });
  // Registering is idempotent, so a PUT that failed here can simply be repeated.
  await catalogObject(env).register(showId);
  return json(
    { message: result.created ? "Show created" : "Show updated", show: result.show },
    result.created ? 201 : 200,
  );
}

/** `DELETE /admin/shows/:show_id/seats/:seat_id/booking`: frees one seat, booked or held. */
export async function resetSeat(request: IRequest, env: Env): Promise<Response> {
  const showId = parsePathId("show_id", request.params.show_id);
  const seatId = parsePathId("seat_id", request.params.seat_id);
  const result = await callShow(env, showId, (show) => show.resetSeat(seatId, originOf(request, "admin")));
  if (!result.ok) throw failureToHttp(result, { showId, seatId });
  const released = result.released > 0;
  return json({
    message: released ? "Seat reset" : "Seat was not booked or held",
    show_id: publicId(showId),
    seat_id: publicId(seatId),
    released,
  });
}

/** `DELETE /admin/shows/:show_id/bookings`: frees every booking and hold of a show. */
export async function resetShow(request: IRequest, env: Env): Promise<Response> {
  const showId = parsePathId("show_id", request.params.show_id);
  const result = await callShow(env, showId, (show) => show.resetAll(originOf(request, "admin")));
  if (!result.ok) throw failureToHttp(result, { showId });
  return json({ message: "Show reset", show_id: publicId(showId), released: result.released });
}

/** `POST /admin/shows/:show_id/seats/block`: blocks every seat named (all must be available), or none. */
export async function blockSeats(request: IRequest, env: Env): Promise<Response> {
  const showId = parsePathId("show_id", request.params.show_id);
  const raw = await readJsonObject(request);
  const { seat_ids, reason } = parseBody(BlockBody, raw);
  const idempotency = await idempotencyKey(request, { show_id: showId, seat_ids, reason });
  const result = await callShow(env, showId, (show) =>
    show.block(seat_ids, reason, originOf(request, "admin"), idempotency),
  );
  if (!result.ok) throw failureToHttp(result, { showId });
  return json({ message: "Seats blocked", show_id: publicId(showId), seat_ids: result.seat_ids, reason });
}

/** `POST /admin/shows/:show_id/seats/unblock`: unblocks the seats named that are blocked. */
export async function unblockSeats(request: IRequest, env: Env): Promise<Response> {
  const showId = parsePathId("show_id", request.params.show_id);
  const raw = await readJsonObject(request);
  const { seat_ids } = parseBody(UnblockBody, raw);
  const idempotency = await idempotencyKey(request, { show_id: showId, seat_ids });
  const result = await callShow(env, showId, (show) => show.unblock(seat_ids, originOf(request, "admin"), idempotency));
  if (!result.ok) throw failureToHttp(result, { showId });
  return json({ message: "Seats unblocked", show_id: publicId(showId), seat_ids: result.seat_ids });
}

/** `GET /admin/shows/:show_id/log?after=0&limit=100`: the audit log, oldest first, a page at a time. */
export async function auditLog(request: IRequest, env: Env): Promise<Response> {
  const showId = parsePathId("show_id", request.params.show_id);
  const { after, limit } = parseBody(AuditLogQuery, { ...request.query });
  const page = await callShow(env, showId, (show) => show.auditLog(after, limit));
  if (page === null) throw failureToHttp({ ok: false, reason: "unknown_show" }, { showId });
  return json({ show_id: publicId(showId), ...page });
}
