import type { IRequest } from "itty-router";
import { failureToHttp, objectBusy, showBusy } from "../http/failures";
import { rateLimited } from "../http/rate-limit";
import { errorResponse, HttpError, JSON_HEADERS } from "../http/responses";
import type { Id } from "../ids";
import type { Handler } from "./router";
import { RELAY_FULL, relayName, relaysPerShow } from "../live/relay";
import { askCatalog, requireShow } from "./directory";
import { encodeCursor } from "../catalog/cursor";
import { SHOW_LIST_DEFAULT_LIMIT, SHOW_LIST_MAX_LIMIT } from "../contract/requests";
import { composedMap } from "./seat-map-compose";
import {
  compressible,
  gzipped,
  layoutOf,
  PLAN_MAX_AGE_SECONDS,
  sharedCopy,
  showPath,
  type Copy,
} from "./seat-map-cache";
import type { SeatFilter } from "../show/types";
import { callShow } from "./stubs";

/**
 * `GET /api/shows?limit=&cursor=`: shows with their name, capacity and free seats, a page at a
 * time, in the order they were created. Answered by the catalog alone: no show is called. The
 * catalog is one object for everybody (it also answers each isolate's first question about a
 * show), so each page is served from a shared copy at most `SEAT_MAP_MAX_AGE_SECONDS` old, like a
 * seat map: a crowd reading the list costs the catalog about one read a second per page and
 * location. A cursor can name any position, and each `?limit=` makes a first page of its own, so
 * every page but the first at the default or the largest size counts against the client's rate limit.
 */
export const listShows: Handler<"listShows"> = async ({ query, request }, env, ctx) => {
  // The first page comes in two sizes that cost nothing: the default and the largest (the page's own).
  const freeFirstPage = query.limit === SHOW_LIST_DEFAULT_LIMIT || query.limit === SHOW_LIST_MAX_LIMIT;
  if (query.cursor !== undefined || !freeFirstPage) await rateLimited(request as IRequest, env);
  const after = query.cursor === undefined ? "" : `&cursor=${encodeCursor(query.cursor)}`;
  const path = `/api/shows?limit=${query.limit}${after}`;
  const copy = await sharedCopy(env, ctx, { origin: new URL(request.url).origin, path }, async () => {
    const page = await askCatalog(env, (catalog) => catalog.page(query.limit, query.cursor ?? null));
    return { ok: true, json: JSON.stringify(page), etag: "" };
  });
  return new Response(copy.body, { headers: JSON_HEADERS });
};

/**
 * `GET /api/shows/:show_id/seats?category=&zone=`: the seat map, or the part of it in one
 * category and zone, at most `SEAT_MAP_MAX_AGE_SECONDS` old, with an ETag (layout version and last
 * change); `If-None-Match` with that tag gets 304. The Worker composes it from two shared copies:
 * the statuses (a few KB, read from the show at most about once a second per location) and the
 * seat map's frame (names and ids, read once per layout version), so the show never builds or
 * sends a map for a reader, and every filter comes from the same two reads.
 */
export const seatMap: Handler<"seatMap"> = async (
  { params: { show_id: showId }, query, ifNoneMatch, request },
  env,
  ctx,
) => {
  const filtered = query.category !== undefined || query.zone !== undefined;
  // A filtered map is composed for its filter (a few ms for 10,000 seats, once per filter and
  // copy), so filtered reads count against the client's rate limit, and such a request has then
  // paid for any lookup of the show.
  if (filtered) await rateLimited(request as IRequest, env);
  // `request` is the one to charge if the show must be looked up (a filtered read has paid
  // already: see `hasSpent`), and its origin keys the location's cached yes.
  const origin = new URL(request.url).origin;
  const statuses = await statusesCopy(env, ctx, showId, origin, request);
  const path = `${showPath(showId)}/seats${filterQuery(query)}`;
  const map = await composedMap(env, ctx, { showId, origin, client: request, statuses, path, query });
  if (map !== null && "ok" in map) throw failureToHttp(map, { showId });
  // The layout changed after this copy of the statuses was made, or the map or its frame is too
  // large for an isolate to keep (a plan near the largest): the show's own map, cached per location.
  const copy =
    map ??
    (await sharedCopy(env, ctx, { showId, origin, path, client: request }, () =>
      callShow(env, showId, (show) => show.seatMapJson(query), { repeatable: true }),
    ));
  return serveCopy(copy, ifNoneMatch, request.headers.get("accept-encoding"));
};

/** `?category=&zone=` as a query string, in one order, for a cache key ("" for none). */
function filterQuery(query: SeatFilter): string {
  const filter = new URLSearchParams();
  if (query.category !== undefined) filter.set("category", query.category);
  if (query.zone !== undefined) filter.set("zone", query.zone);
  return filter.size > 0 ? `?${filter}` : "";
}

/** `GET /api/shows/:show_id/statuses`: one character per seat in plan order, cached like the seat map. */
export const seatStatuses: Handler<"seatStatuses"> = async (
  { params: { show_id: showId }, ifNoneMatch, request },
  env,
  ctx,
) => {
  const copy = await statusesCopy(env, ctx, showId, new URL(request.url).origin, request);
  return serveCopy(copy, ifNoneMatch, request.headers.get("accept-encoding"));
};

/**
 * The statuses copy, for a request from `origin`; `client` is the request to charge if the show
 * must be looked up (see `requireShow`).
 */
function statusesCopy(
  env: Env,
  ctx: ExecutionContext,
  showId: Id,
  origin: string,
  client: Request | undefined,
): Promise<Copy> {
  const path = `${showPath(showId)}/statuses`;
  return sharedCopy(env, ctx, { showId, origin, path, client }, () =>
    callShow(env, showId, (show) => show.statusesJson(), { repeatable: true }),
  );
}

/** `GET /api/shows/:show_id/plan`: the seating plan, tagged with its layout version. */
export const showPlan: Handler<"showPlan"> = async (
  { params: { show_id: showId }, ifNoneMatch, request },
  env,
  ctx,
) => {
  // The statuses' ETag ("<layout>.<version>") says which layout is current, at the cost of a
  // read that is shared and cached; a plan at a layout version never changes, so it is cached
  // under that version for long, and a plan of megabytes leaves the show once per location.
  const origin = new URL(request.url).origin;
  const layout = layoutOf(await statusesCopy(env, ctx, showId, origin, request));
  const etag = `"${layout}"`;
  if (etagMatches(ifNoneMatch, etag)) {
    return new Response(null, { status: 304, headers: { etag, "cache-control": "no-cache", vary: "accept-encoding" } });
  }
  const path = `${showPath(showId)}/plan?layout=${layout}`;
  const copy = await sharedCopy(env, ctx, { showId, origin, path, maxAge: PLAN_MAX_AGE_SECONDS, client: request }, () =>
    callShow(env, showId, (show) => show.plan(), { repeatable: true }),
  );
  return serveCopy(copy, ifNoneMatch, request.headers.get("accept-encoding"));
};

/** A copy's type, as every JSON answer's (see JSON_HEADERS). */
const JSON_TYPE = { "content-type": "application/json", "x-content-type-options": "nosniff" } as const;

/**
 * A copy with its ETag; 304 when the client has it. Clients may keep it, but must ask before using
 * it. A client that accepts gzip gets the copy's gzip form, compressed once per copy rather than
 * once per response (a 10,000-seat map shrinks from about 380 KB to a few tens of KB), under the
 * weak form of the ETag (`W/"1.42"`: the same content, another encoding); the others get the JSON
 * as it is. Either tag, sent back in If-None-Match, gets 304.
 */
function serveCopy(copy: Copy, ifNoneMatch: string | null, acceptEncoding: string | null): Response {
  const gzip = acceptsGzip(acceptEncoding) && compressible(copy);
  const headers = { etag: gzip ? `W/${copy.etag}` : copy.etag, "cache-control": "no-cache", vary: "accept-encoding" };
  if (etagMatches(ifNoneMatch, copy.etag)) return new Response(null, { status: 304, headers });
  if (gzip) {
    // Compressed only for an answer with a body: readers who have the copy get their 304 for free.
    return new Response(gzipped(copy), {
      headers: { ...headers, ...JSON_TYPE, "content-encoding": "gzip" },
      // The bytes are gzip already: the runtime must send them as they are, not compress them again.
      encodeBody: "manual",
    });
  }
  return new Response(copy.body, { headers: { ...headers, ...JSON_TYPE } });
}

/**
 * Whether an Accept-Encoding header allows gzip: `gzip` with a weight above 0, or, when gzip is not
 * named, `*` with a weight above 0 (RFC 9110, 12.5.3).
 */
function acceptsGzip(header: string | null): boolean {
  if (header === null) return false;
  const weights = new Map<string, number>();
  for (const part of header.split(",")) {
    const [coding = "", ...params] = part.trim().toLowerCase().split(";");
    const q = params.map((param) => /^\s*q=([\d.]+)\s*$/.exec(param)?.[1]).find((value) => value !== undefined);
    weights.set(coding.trim(), q === undefined ? 1 : Number(q));
  }
  const weight = weights.get("gzip") ?? weights.get("*") ?? 0;
  return weight > 0;
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
  // A random relay first; a full or busy one sends the watcher on to the next, a few at most. A
  // show too busy to be read is the answer at once: the next relay would ask the same show.
  const relays = relaysPerShow(env);
  const first = Math.floor(Math.random() * relays);
  let answer: Response | undefined;
  for (let tried = 0; tried < Math.min(relays, MAX_RELAYS_TRIED); tried++) {
    let passOver: boolean;
    try {
      answer = await env.RELAY.getByName(relayName(showId, (first + tried) % relays)).fetch(request);
      passOver = answer.headers.has(RELAY_FULL);
    } catch (error) {
      // An overloaded or unreachable relay is passed over like a full one; anything else is a bug.
      if (!objectBusy(error)) throw error;
      answer = errorResponse(showBusy(showId));
      passOver = true;
    }
    if (!passOver) return answer;
  }
  // Every relay offered was full: their answer, without the mark meant for this loop.
  const last = new Response(answer!.body, answer);
  last.headers.delete(RELAY_FULL);
  return last;
};

/** Relays a watcher is offered before it is told the show is full. */
const MAX_RELAYS_TRIED = 3;
