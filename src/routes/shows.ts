import { HttpError, json } from "../http/responses";
import type { Handler } from "./router";
import { relayName, relaysPerShow } from "../live/relay";
import { catalogObject, requireShow } from "./directory";
import { sharedCopy, type Copy } from "./seat-map-cache";
import { callShow } from "./stubs";

/**
 * `GET /api/shows?limit=&cursor=`: shows with their name, capacity and free seats, a page at a
 * time, in the order they were created. Answered by the catalog alone: no show is called.
 */
export const listShows: Handler<"listShows"> = async ({ query }, env) => {
  return json(await catalogObject(env).page(query.limit, query.cursor ?? null));
};

/**
 * `GET /api/shows/:show_id/seats?category=&zone=`: the seat map, or the part of it in one
 * category and zone, at most `SEAT_MAP_MAX_AGE_SECONDS` old, with an ETag (layout version and last
 * change); `If-None-Match` with that tag gets 304.
 */
export const seatMap: Handler<"seatMap"> = async (
  { params: { show_id: showId }, query, ifNoneMatch, request },
  env,
  ctx,
) => {
  const filter = new URLSearchParams();
  if (query.category !== undefined) filter.set("category", query.category);
  if (query.zone !== undefined) filter.set("zone", query.zone);
  const path = `${showPath(showId)}/seats${filter.size > 0 ? `?${filter}` : ""}`;
  const copy = await sharedCopy(env, ctx, { showId, origin: new URL(request.url).origin, path }, () =>
    callShow(env, showId, (show) => show.seatMapJson(query)),
  );
  return serveCopy(copy, ifNoneMatch);
};

/** `GET /api/shows/:show_id/statuses`: one character per seat in plan order, cached like the seat map. */
export const seatStatuses: Handler<"seatStatuses"> = async (
  { params: { show_id: showId }, ifNoneMatch, request },
  env,
  ctx,
) => {
  const path = `${showPath(showId)}/statuses`;
  const copy = await sharedCopy(env, ctx, { showId, origin: new URL(request.url).origin, path }, () =>
    callShow(env, showId, (show) => show.statusesJson()),
  );
  return serveCopy(copy, ifNoneMatch);
};

/** `GET /api/shows/:show_id/plan`: the seating plan, tagged with its layout version. */
export const showPlan: Handler<"showPlan"> = async (
  { params: { show_id: showId }, ifNoneMatch, request },
  env,
  ctx,
) => {
  const path = `${showPath(showId)}/plan`;
  const copy = await sharedCopy(env, ctx, { showId, origin: new URL(request.url).origin, path }, () =>
    callShow(env, showId, (show) => show.plan()),
  );
  return serveCopy(copy, ifNoneMatch);
};

function showPath(showId: string): string {
  return `/api/shows/${encodeURIComponent(showId)}`;
}

/** A copy with its ETag; 304 when the client has it. Clients may keep it, but must ask before using it. */
function serveCopy(copy: Copy, ifNoneMatch: string | null): Response {
  const headers = { etag: copy.etag, "cache-control": "no-cache" };
  if (etagMatches(ifNoneMatch, copy.etag)) return new Response(null, { status: 304, headers });
  return new Response(copy.body, { headers: { ...headers, "content-type": "application/json" } });
}

/** Whether an If-None-Match header names this ETag (or is `*`). */
function etagMatches(header: string | null, etag: string): boolean {
  if (header === null) return false;
  return header
    .split(",")
    .map((tag) => tag.trim().replace(/^W\//, ""))
    .some((tag) => tag === "*" || tag === etag);
}

/**
 * `GET /api/shows/:show_id/live`: upgrades to a WebSocket held by one of the show's relays, picked
 * at random (a full one passes the watcher to the next), which sends the layout and a snapshot and
 * then each batch of changes. A reconnecting
 * client passes `?since=<version>&layout=<layout>` to get only what it missed. The relay answers
 * its own errors with the same JSON bodies as every route, so its answer goes back as it is.
 */
export const liveSeatMap: Handler<"liveSeatMap"> = async ({ params: { show_id: showId }, request }, env) => {
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    throw new HttpError(426, "This route is a WebSocket: send 'Upgrade: websocket'", {}, { upgrade: "websocket" });
  }
  await requireShow(env, showId);
  // A random relay first; a full one sends the watcher on to the next, a few at most.
  const relays = relaysPerShow(env);
  const first = Math.floor(Math.random() * relays);
  let answer: Response | undefined;
  for (let tried = 0; tried < Math.min(relays, MAX_RELAYS_TRIED); tried++) {
    answer = await env.RELAY.getByName(relayName(showId, (first + tried) % relays)).fetch(request);
    if (answer.status !== 503) return answer;
  }
  return answer!;
};

/** Relays a watcher is offered before it is told the show is full. */
const MAX_RELAYS_TRIED = 3;
