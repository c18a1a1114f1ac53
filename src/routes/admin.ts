import { failureToHttp, objectBusy } from "../http/failures";
import { HttpError, json } from "../http/responses";
import { publicId } from "../ids";
import { hex } from "../sha256";
import { flatPlan } from "../venue/layout";
import { adminOrigin } from "./origin";
import type { Handler } from "./router";
import { catalogObject, rememberShow } from "./directory";
import { callShow } from "./stubs";

/** `PUT /admin/shows/:show_id`: creates a show or changes its name and layout. */
export const putShow: Handler<"putShow"> = async ({ params: { show_id: showId }, body, route }, env) => {
  // The body has exactly one of a plan and a flat seat list (the contract says so).
  const plan = new TextEncoder().encode(JSON.stringify(body.plan ?? flatPlan(body.name, body.seats!)));
  // Worked out here, off the show's thread: the show knows its own plan sent again by this alone.
  const planDigest = hex(await crypto.subtle.digest("SHA-256", plan));
  const layout = { showId, name: body.name, plan, planDigest, maxSeatsPerOrder: body.max_seats_per_order };
  const result = await callShow(env, showId, (show) => show.configure(layout, adminOrigin(route)), {
    create: true,
    // A PUT: the same layout applied twice leaves the show as once.
    repeatable: true,
  });
  if (!result.ok) throw failureToHttp(result, { showId });
  try {
    await catalogObject(env).register(result.push);
  } catch (error) {
    if (!objectBusy(error)) throw error;
    // The show is saved, and its alarm registers it a second later (see `Show.configure`).
    // Registering is idempotent, so the PUT may be repeated too.
    throw new HttpError(
      503,
      "The show was saved, but the list of shows did not answer; the show is listed within seconds, and repeating this request is safe",
      { show_id: publicId(showId) },
      { "retry-after": "1" },
    );
  }
  rememberShow(showId);
  return json(
    { message: result.created ? "Show created" : "Show updated", show: result.show },
    result.created ? 201 : 200,
  );
};

/** `DELETE /admin/shows/:show_id/seats/:seat_id/booking`: frees one seat, booked or held. */
export const resetSeat: Handler<"resetSeat"> = async ({ params: { show_id: showId, seat_id: seatId }, route }, env) => {
  const result = await callShow(env, showId, (show) => show.resetSeat(seatId, adminOrigin(route)), {
    repeatable: false,
  });
  if (!result.ok) throw failureToHttp(result, { showId, seatId });
  const released = result.released > 0;
  return json({
    message: released ? "Seat reset" : "Seat was not booked or held",
    show_id: publicId(showId),
    seat_id: publicId(seatId),
    released,
  });
};

/** `DELETE /admin/shows/:show_id/bookings`: frees every booking and hold of a show. */
export const resetShow: Handler<"resetShow"> = async ({ params: { show_id: showId }, route }, env) => {
  const result = await callShow(env, showId, (show) => show.resetAll(adminOrigin(route)), {
    repeatable: false,
  });
  if (!result.ok) throw failureToHttp(result, { showId });
  return json({ message: "Show reset", show_id: publicId(showId), released: result.released });
};

/** `POST /admin/shows/:show_id/seats/block`: blocks every seat named (all must be available), or none. */
export const blockSeats: Handler<"blockSeats"> = async (
  { params: { show_id: showId }, body, idempotency, route },
  env,
) => {
  const result = await callShow(
    env,
    showId,
    (show) => show.block(body.seat_ids, body.reason, adminOrigin(route), idempotency),
    { repeatable: idempotency !== null },
  );
  if (!result.ok) throw failureToHttp(result, { showId });
  return json({ message: "Seats blocked", show_id: publicId(showId), seat_ids: result.seat_ids, reason: body.reason });
};

/** `POST /admin/shows/:show_id/seats/unblock`: unblocks the seats named that are blocked. */
export const unblockSeats: Handler<"unblockSeats"> = async (
  { params: { show_id: showId }, body, idempotency, route },
  env,
) => {
  const result = await callShow(env, showId, (show) => show.unblock(body.seat_ids, adminOrigin(route), idempotency), {
    repeatable: idempotency !== null,
  });
  if (!result.ok) throw failureToHttp(result, { showId });
  return json({ message: "Seats unblocked", show_id: publicId(showId), seat_ids: result.seat_ids });
};

/** `GET /admin/shows/:show_id/log?after=0&limit=100`: the audit log, oldest first, a page at a time. */
export const auditLog: Handler<"auditLog"> = async ({ params: { show_id: showId }, query }, env) => {
  const result = await callShow(env, showId, (show) => show.auditLog(query.after, query.limit), {
    repeatable: true,
  });
  if (!result.ok) throw failureToHttp(result, { showId });
  return json({ show_id: publicId(showId), entries: result.entries, next_after: result.next_after });
};
