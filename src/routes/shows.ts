import { failureToHttp } from "../http/failures";
import { HttpError, json, jsonText } from "../http/responses";
import type { Handler } from "./router";
import { callShow, catalogObject } from "./stubs";

/** `GET /api/shows`: every show with its name, capacity and free seats. */
export const listShows: Handler<"listShows"> = async (_input, env) => {
  const showIds = await catalogObject(env).list();
  const results = await Promise.all(showIds.map((showId) => callShow(env, showId, (show) => show.summary())));
  return json({ shows: results.flatMap((result) => (result.ok ? [result.summary] : [])) });
};

/** `GET /api/shows/:show_id/seats`: the seat map. */
export const seatMap: Handler<"seatMap"> = async ({ params: { show_id: showId } }, env) => {
  const result = await callShow(env, showId, (show) => show.seatMapJson());
  if (!result.ok) throw failureToHttp(result, { showId });
  return jsonText(result.json);
};

/**
 * `GET /api/shows/:show_id/live`: upgrades to a WebSocket held by the show's object, which
 * sends a snapshot and then one small event per seat change. A reconnecting client passes
 * `?since=<version>&layout=<layout>` to get only what it missed. The object answers its own
 * errors with the same JSON bodies as every route, so its answer goes back as it is.
 */
export const liveSeatMap: Handler<"liveSeatMap"> = async ({ params: { show_id: showId }, request }, env) => {
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    throw new HttpError(426, "This route is a WebSocket: send 'Upgrade: websocket'", {}, { upgrade: "websocket" });
  }
  return callShow(env, showId, (show) => show.fetch(request));
};
