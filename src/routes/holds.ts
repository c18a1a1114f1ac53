import type { IRequest } from "itty-router";
import { holdPolicy } from "../config";
import { requireBearer } from "../http/auth";
import { readJsonObject } from "../http/body";
import { idempotencyKey } from "../http/idempotency";
import { json } from "../http/responses";
import { extendBody, holdBody, parseBody, parsePathId, parseRef } from "../http/validation";
import { failureToHttp } from "./failures";
import { originOf } from "./origin";
import { callShow } from "./stubs";

/** `POST /api/shows/:show_id/holds`: holds every seat named for a while, or none. */
export async function createHold(request: IRequest, env: Env): Promise<Response> {
  const showId = parsePathId("show_id", request.params.show_id);
  const raw = await readJsonObject(request);
  const { seat_ids, user_id, ttl_seconds } = parseBody(holdBody(holdPolicy(env)), raw);
  const idempotency = await idempotencyKey(request, { show_id: showId, seat_ids, user_id, ttl_seconds });
  const result = await callShow(env, showId, (show) =>
    show.hold(seat_ids, user_id, ttl_seconds, originOf(request, user_id), idempotency),
  );
  if (!result.ok) throw failureToHttp(result, { showId });
  return json(result.hold, 201);
}

/** `POST /api/holds/:hold_id/confirm`: turns a live hold into bookings. */
export async function confirmHold(request: IRequest, env: Env): Promise<Response> {
  const { ref: holdId, showId } = parseRef("hold_id", request.params.hold_id);
  const token = requireBearer(request, "hold_token");
  const idempotency = await idempotencyKey(request, { hold_id: holdId });
  const result = await callShow(env, showId, (show) =>
    show.confirmHold(holdId, token, originOf(request, null), idempotency),
  );
  if (!result.ok) throw failureToHttp(result, { showId, holdId });
  return json({ message: "Seats booked successfully", hold_id: holdId, bookings: result.bookings });
}

/** `DELETE /api/holds/:hold_id`: gives the seats back. */
export async function releaseHold(request: IRequest, env: Env): Promise<Response> {
  const { ref: holdId, showId } = parseRef("hold_id", request.params.hold_id);
  const token = requireBearer(request, "hold_token");
  const result = await callShow(env, showId, (show) => show.releaseHold(holdId, token, originOf(request, null)));
  if (!result.ok) throw failureToHttp(result, { showId, holdId });
  return json({ message: "Hold released", hold_id: holdId, released: result.released });
}

/** `POST /api/holds/:hold_id/extend`: pushes the expiry out, up to the hold's maximum lifetime. */
export async function extendHold(request: IRequest, env: Env): Promise<Response> {
  const { ref: holdId, showId } = parseRef("hold_id", request.params.hold_id);
  const token = requireBearer(request, "hold_token");
  const raw = await readJsonObject(request, { optional: true });
  const { ttl_seconds } = parseBody(extendBody(holdPolicy(env)), raw);
  const idempotency = await idempotencyKey(request, { hold_id: holdId, ttl_seconds });
  const result = await callShow(env, showId, (show) => show.extendHold(holdId, token, ttl_seconds, idempotency));
  if (!result.ok) throw failureToHttp(result, { showId, holdId });
  return json(result.hold);
}
