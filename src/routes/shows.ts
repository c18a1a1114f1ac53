import type { IRequest } from "itty-router";
import { HttpError, json } from "../http/responses";
import { parsePathId } from "../http/validation";
import { publicId } from "../ids";
import { catalogObject, showObject } from "./stubs";

/** `GET /api/shows`: every show with its name, capacity and free seats. */
export async function listShows(_request: IRequest, env: Env): Promise<Response> {
  const showIds = await catalogObject(env).list();
  const summaries = await Promise.all(showIds.map((showId) => showObject(env, showId).summary()));
  return json({ shows: summaries.filter((summary) => summary !== null) });
}

/** `GET /api/shows/:show_id/seats`: the seat map. */
export async function seatMap(request: IRequest, env: Env): Promise<Response> {
  const showId = parsePathId("show_id", request.params.show_id);
  const map = await showObject(env, showId).seatMap();
  if (map === null) throw new HttpError(404, "Show not found", { show_id: publicId(showId) });
  return json(map);
}
