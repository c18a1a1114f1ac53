import { heldOrdersPerAddress } from "../config";
import { failureToHttp } from "../http/failures";
import { json, versionHeader } from "../http/responses";
import { originOf } from "./origin";
import type { Handler } from "./router";
import { callShow } from "./stubs";

/** `POST /api/shows/:show_id/holds`: holds every seat named, or the best block of adjacent seats, for a while; or none. */
export const createHold: Handler<"createHold"> = async ({ params, body, idempotency, route, pass, client }, env) => {
  const { seat_ids, best_available, user_id, ttl_seconds } = body;
  // The body has exactly one of the two (the contract says so).
  const selection = seat_ids ? { seatIds: seat_ids } : { best: best_available! };
  // The address counts against what one address may hold, where that is limited (see `originOf`).
  const address =
    heldOrdersPerAddress(env) === null || client === null ? null : { key: client, secret: env.QUEUE_SECRET };
  const origin = originOf(route, user_id, pass, address);
  const result = await callShow(
    env,
    params.show_id,
    (show) => show.hold(selection, user_id, ttl_seconds, origin, idempotency),
    { repeatable: idempotency !== null },
  );
  if (!result.ok) throw failureToHttp(result, { showId: params.show_id });
  return json(result.hold, 201, versionHeader(result.version));
};

/** `POST /api/holds/:hold_id/confirm`: turns a live hold into bookings. */
export const confirmHold: Handler<"confirmHold"> = async ({ params, token, idempotency, route }, env) => {
  const { ref: holdId, showId } = params.hold_id;
  const result = await callShow(
    env,
    showId,
    (show) => show.confirmHold(holdId, token, originOf(route, null), idempotency),
    { repeatable: idempotency !== null },
  );
  if (!result.ok) throw failureToHttp(result, { showId, holdId });
  return json(
    { message: "Seats booked successfully", hold_id: holdId, bookings: result.bookings },
    200,
    versionHeader(result.version),
  );
};

/** `DELETE /api/holds/:hold_id`: gives the seats back. */
export const releaseHold: Handler<"releaseHold"> = async ({ params, token, route }, env) => {
  const { ref: holdId, showId } = params.hold_id;
  const result = await callShow(env, showId, (show) => show.releaseHold(holdId, token, originOf(route, null)), {
    repeatable: false,
  });
  if (!result.ok) throw failureToHttp(result, { showId, holdId });
  return json({ message: "Hold released", hold_id: holdId, released: result.released });
};

/** `POST /api/holds/:hold_id/extend`: pushes the expiry out, up to the hold's maximum lifetime. */
export const extendHold: Handler<"extendHold"> = async ({ params, body, token, idempotency }, env) => {
  const { ref: holdId, showId } = params.hold_id;
  const result = await callShow(env, showId, (show) => show.extendHold(holdId, token, body.ttl_seconds, idempotency), {
    repeatable: idempotency !== null,
  });
  if (!result.ok) throw failureToHttp(result, { showId, holdId });
  return json(result.hold);
};
