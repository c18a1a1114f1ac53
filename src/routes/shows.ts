import { failureToHttp } from "../http/failures";
import { HttpError, json, jsonText } from "../http/responses";
import type { Handler } from "./router";
import { catalogObject } from "./directory";
import { callShow } from "./stubs";

/**
 * `GET /api/shows?limit=&cursor=`: shows with their name, capacity and free seats, a page at a
 * time, in the order they were created. Answered by the catalog alone: no show is called.
 */
export const listShows: Handler<"listShows"> = async ({ query }, env) => {
  return json(await catalogObject(env).page(query.limit, query.cursor ?? null));
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
