import type { IRequest } from "itty-router";
import { failureToHttp } from "../http/failures";
import { rateLimited } from "../http/rate-limit";
import { HttpError, json } from "../http/responses";
import type { Id } from "../ids";
import type { Handler } from "./router";
import { relayName, relaysPerShow } from "../live/relay";
import { catalogObject, requireShow } from "./directory";
import { compressible, gzipped, keepable, madeCopy, sharedCopy, type Copy } from "./seat-map-cache";
import { filterNumbers, seatMapJson, type SeatFrame } from "../show/seat-map";
import type { CategoryCount, Failure, SeatFilter } from "../show/types";
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
  // The request to charge if the show must be looked up: a filtered read has paid already.
  const client = filtered ? undefined : request;
  const statuses = await statusesCopy(env, ctx, showId, request, client);
  const path = `${showPath(showId)}/seats${filterQuery(query)}`;
  const map = await composedMap(env, ctx, { showId, request, client, statuses, path, query });
  if (map !== null && "ok" in map) throw failureToHttp(map, { showId });
  // The layout changed after this copy of the statuses was made, or the map or its frame is too
  // large for an isolate to keep (a plan near the largest): the show's own map, cached per location.
  const copy =
    map ??
    (await sharedCopy(env, ctx, { showId, origin: new URL(request.url).origin, path }, () =>
      callShow(env, showId, (show) => show.seatMapJson(query), { repeatable: true, client }),
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
  return serveCopy(await statusesCopy(env, ctx, showId, request), ifNoneMatch, request.headers.get("accept-encoding"));
};

/** The statuses copy; `client` is the request to charge if the show must be looked up (see `requireShow`). */
function statusesCopy(
  env: Env,
  ctx: ExecutionContext,
  showId: Id,
  request: Request,
  client: Request | undefined = request,
): Promise<Copy> {
  const path = `${showPath(showId)}/statuses`;
  return sharedCopy(env, ctx, { showId, origin: new URL(request.url).origin, path }, () =>
    callShow(env, showId, (show) => show.statusesJson(), { repeatable: true, client }),
  );
}

/** The layout version a statuses copy describes: its ETag is `"<layout>.<version>"`. */
function layoutOf(statuses: Copy): number {
  return Number(statuses.etag.slice(1).split(".")[0]);
}

/** The show has another layout than the one a frame was asked for. */
class LayoutChanged extends Error {}

/**
 * The seat map's frame at `layout`, shared and cached like a plan (it never changes at one layout
 * version, so it is kept even while copies are off), or null when the show has moved on to another
 * layout since the statuses were read, or cannot give a frame (an object still on a version from
 * before frames, during a deploy): the caller then asks for the map itself.
 */
async function readFrame(
  env: Env,
  ctx: ExecutionContext,
  { showId, request, client, layout }: { showId: Id; request: Request; client: Request | undefined; layout: number },
): Promise<Copy | null> {
  const path = `${showPath(showId)}/frame?layout=${layout}`;
  const origin = new URL(request.url).origin;
  try {
    return await sharedCopy(
      env,
      ctx,
      { showId, origin, path, maxAge: PLAN_MAX_AGE_SECONDS, internal: true },
      async () => {
        const result = await callShow(env, showId, (show) => show.seatFrame(layout), { repeatable: true, client });
        if (!result.ok && result.reason === "layout_changed") throw new LayoutChanged();
        return result;
      },
    );
  } catch (error) {
    if (error instanceof LayoutChanged) return null;
    if (error instanceof HttpError) throw error;
    console.error(JSON.stringify({ message: "seat map frame unavailable", show_id: showId, error: String(error) }));
    return null;
  }
}

/** A statuses copy as read: the statuses, and the counts per category. */
interface ParsedStatuses {
  statuses: string;
  categories: CategoryCount[];
}

const parsedStatuses = new WeakMap<Copy, ParsedStatuses>();
/** Statuses copies whose layout their show no longer has: their readers get the show's map while the copy lasts. */
const behindTheShow = new WeakSet<Copy>();
/**
 * What this isolate reads from the show instead of composing, by `<path>@<layout>`: maps, and
 * (by show path) frames, too large to keep. Bounded, like every memo here.
 */
const readFromShow = new Set<string>();
const MAX_READ_FROM_SHOW = 10_000;

/**
 * Frames parsed, the most recently used last. A parsed frame takes several times its JSON's bytes,
 * which the copies' budget does not count, so parsed frames are held to PARSED_FRAME_SEATS seats in
 * all (two of the largest plans).
 */
const parsedFrames = new Map<Copy, SeatFrame>();
const PARSED_FRAME_SEATS = 200_000;
let parsedSeats = 0;

function parsedFrame(copy: Copy): SeatFrame {
  let frame = parsedFrames.get(copy);
  if (frame !== undefined) {
    parsedFrames.delete(copy);
  } else {
    frame = JSON.parse(new TextDecoder().decode(copy.body)) as SeatFrame;
    parsedSeats += frame.seat_ids.length;
    for (const [older, olderFrame] of parsedFrames) {
      if (parsedSeats <= PARSED_FRAME_SEATS) break;
      parsedFrames.delete(older);
      parsedSeats -= olderFrame.seat_ids.length;
    }
  }
  parsedFrames.set(copy, frame);
  return frame;
}

function statusesIn(copy: Copy): ParsedStatuses {
  let value = parsedStatuses.get(copy);
  if (value === undefined) {
    value = JSON.parse(new TextDecoder().decode(copy.body)) as ParsedStatuses;
    parsedStatuses.set(copy, value);
  }
  return value;
}

function readsFromShow(key: string): void {
  if (readFromShow.size >= MAX_READ_FROM_SHOW) readFromShow.clear();
  readFromShow.add(key);
}

/**
 * The seat map (at `path`, with its filter) from a statuses copy and the frame of its layout,
 * with the statuses' ETag and freshness, composed once per copy however many readers ask (see
 * `madeCopy`); the failure naming a category or zone the plan does not have; or null when the
 * show must answer instead (see `seatMap`).
 */
async function composedMap(
  env: Env,
  ctx: ExecutionContext,
  read: { showId: Id; request: Request; client: Request | undefined; statuses: Copy; path: string; query: SeatFilter },
): Promise<Copy | Failure | null> {
  const { showId, statuses, path, query } = read;
  const layout = layoutOf(statuses);
  const frameKey = `${showPath(showId)}@${layout}`;
  const mapKey = `${path}@${layout}`;
  if (behindTheShow.has(statuses) || readFromShow.has(frameKey) || readFromShow.has(mapKey)) return null;
  const frameCopy = await readFrame(env, ctx, { ...read, layout });
  if (frameCopy === null) {
    behindTheShow.add(statuses);
    return null;
  }
  if (!keepable(frameCopy.body.byteLength)) {
    readsFromShow(frameKey);
    return null;
  }
  const frame = parsedFrame(frameCopy);
  const filter = filterNumbers(frame, query);
  if ("ok" in filter) return filter;
  const map = madeCopy(`${path}#composed`, statuses, () => {
    const { statuses: codes, categories } = statusesIn(statuses);
    return seatMapJson(frame, codes, categories, filter);
  });
  if (map === null) readsFromShow(mapKey);
  return map;
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
  const layout = layoutOf(await statusesCopy(env, ctx, showId, request));
  const etag = `"${layout}"`;
  if (etagMatches(ifNoneMatch, etag)) {
    return new Response(null, { status: 304, headers: { etag, "cache-control": "no-cache", vary: "accept-encoding" } });
  }
  const path = `${showPath(showId)}/plan?layout=${layout}`;
  const copy = await sharedCopy(
    env,
    ctx,
    { showId, origin: new URL(request.url).origin, path, maxAge: PLAN_MAX_AGE_SECONDS },
    () => callShow(env, showId, (show) => show.plan(), { repeatable: true, client: request }),
  );
  return serveCopy(copy, ifNoneMatch, request.headers.get("accept-encoding"));
};

/** How long a plan at one layout version is kept by each location's cache. */
const PLAN_MAX_AGE_SECONDS = 3600;

function showPath(showId: string): string {
  return `/api/shows/${encodeURIComponent(showId)}`;
}

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
      headers: { ...headers, "content-type": "application/json", "content-encoding": "gzip" },
      // The bytes are gzip already: the runtime must send them as they are, not compress them again.
      encodeBody: "manual",
    });
  }
  return new Response(copy.body, { headers: { ...headers, "content-type": "application/json" } });
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
