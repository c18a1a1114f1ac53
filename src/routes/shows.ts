import type { IRequest } from "itty-router";
import { HttpError, json, jsonText } from "../http/responses";
import { parsePathId } from "../http/validation";
import { positionFromQuery } from "../show/live";
import { failureToHttp } from "./failures";
import { publicId } from "../ids";
import { callShow, catalogObject } from "./stubs";

/** `GET /api/shows`: every show with its name, capacity and free seats. */
export async function listShows(_request: IRequest, env: Env): Promise<Response> {
  const showIds = await catalogObject(env).list();
  const summaries = await Promise.all(showIds.map((showId) => callShow(env, showId, (show) => show.summary())));
  return json({ shows: summaries.filter((summary) => summary !== null) });
}

/** `GET /api/shows/:show_id/seats`: the seat map. */
export async function seatMap(request: IRequest, env: Env): Promise<Response> {
  const showId = parsePathId("show_id", request.params.show_id);
  const map = await callShow(env, showId, (show) => show.seatMapJson());
  if (map === null) throw new HttpError(404, "Show not found", { show_id: publicId(showId) });
  return jsonText(map);
}

/**
 * `GET /api/shows/:show_id/live`: upgrades to a WebSocket held by the show's object, which
 * sends a snapshot and then one small event per seat change. A reconnecting client passes
 * `?since=<version>&layout=<layout>` to get only what it missed.
 */
export async function liveSeatMap(request: IRequest, env: Env): Promise<Response> {
  const showId = parsePathId("show_id", request.params.show_id);
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    throw new HttpError(426, "This route is a WebSocket: send 'Upgrade: websocket'", {}, { upgrade: "websocket" });
  }
  const position = positionFromQuery(new URL(request.url).searchParams);
  if (position !== null && "error" in position) throw new HttpError(400, position.error, { field: "since" });
  const response = await callShow(env, showId, (show) => show.fetch(request));
  if (response.status === 404) throw failureToHttp({ ok: false, reason: "unknown_show" }, { showId });
  if (response.status === 503) {
    throw new HttpError(
      503,
      ((await response.json()) as { error: string }).error,
      { show_id: publicId(showId) },
      {
        "retry-after": response.headers.get("retry-after") ?? "5",
      },
    );
  }
  return response;
}
