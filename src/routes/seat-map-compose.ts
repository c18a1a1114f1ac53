/**
 * The seat map as the Worker composes it: from the shared statuses copy and the layout's frame
 * (see `SeatFrame`), once per copy and filter, within the isolate's budgets, and when it cannot (a
 * layout change, a show that cannot give a frame), null, so that the route serves the show's own
 * map instead.
 */
import { HttpError } from "../http/responses";
import type { Id } from "../ids";
import { filterNumbers, seatMapJson, type FilterNumbers, type SeatFrame } from "../show/seat-map";
import type { CategoryCount, Failure, SeatFilter } from "../show/types";
import { layoutOf, madeCopy, PLAN_MAX_AGE_SECONDS, sharedCopy, showPath, storedAt, type Copy } from "./seat-map-cache";
import { callShow } from "./stubs";

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
  { showId, origin, client, layout }: { showId: Id; origin: string; client: Request | undefined; layout: number },
): Promise<Copy | null> {
  const path = `${showPath(showId)}/frame?layout=${layout}`;
  try {
    return await sharedCopy(
      env,
      ctx,
      { showId, origin, path, maxAge: PLAN_MAX_AGE_SECONDS, internal: true, client },
      async () => {
        const result = await callShow(env, showId, (show) => show.seatFrame(layout), { repeatable: true });
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
 * Maps (by `<path>@<layout>`) too large for an isolate to keep: composed for the location's cache
 * instead, without first trying to keep them. Bounded, like every memo here.
 */
const tooLargeToKeep = new Set<string>();
const MAX_TOO_LARGE = 10_000;

/**
 * Frames parsed, by show and layout (a frame never changes at one layout version), the most
 * recently used last: a frame too large for the isolate to keep as JSON (a plan near the largest)
 * is read from the location's cache and parsed once, not at every read. A parsed frame takes
 * several times its JSON's bytes, which the copies' budget does not count, so parsed frames are
 * held to PARSED_FRAME_SEATS seats in all (two of the largest plans).
 */
const parsedFrames = new Map<string, SeatFrame>();
const PARSED_FRAME_SEATS = 200_000;
let parsedSeats = 0;

/** The frame of `layout`, parsed, or null when the show must answer (see `readFrame`). */
async function frameAt(
  env: Env,
  ctx: ExecutionContext,
  read: { showId: Id; origin: string; client: Request | undefined; layout: number },
): Promise<SeatFrame | null> {
  const key = `${showPath(read.showId)}@${read.layout}`;
  let frame = parsedFrames.get(key);
  if (frame !== undefined) {
    parsedFrames.delete(key);
  } else {
    const copy = await readFrame(env, ctx, read);
    if (copy === null) return null;
    frame = parsedBody<SeatFrame>(copy);
    // Another read of this frame may have parsed it meanwhile: this one takes its place and count.
    const meanwhile = parsedFrames.get(key);
    if (meanwhile !== undefined) {
      parsedFrames.delete(key);
      parsedSeats -= meanwhile.seat_ids.length;
    }
    parsedSeats += frame.seat_ids.length;
    for (const [older, olderFrame] of parsedFrames) {
      if (parsedSeats <= PARSED_FRAME_SEATS) break;
      parsedFrames.delete(older);
      parsedSeats -= olderFrame.seat_ids.length;
    }
  }
  parsedFrames.set(key, frame);
  return frame;
}

function statusesIn(copy: Copy): ParsedStatuses {
  let value = parsedStatuses.get(copy);
  if (value === undefined) {
    value = parsedBody<ParsedStatuses>(copy);
    parsedStatuses.set(copy, value);
  }
  return value;
}

function parsedBody<T>(copy: Copy): T {
  return JSON.parse(new TextDecoder().decode(copy.body)) as T;
}

/**
 * The seat map (at `path`, with its filter) from a statuses copy and the frame of its layout,
 * with the statuses' ETag and freshness, composed once per copy however many readers ask (see
 * `madeCopy`); the failure naming a category or zone the plan does not have; or null when the
 * show must answer instead (see `seatMap`). A map too large for an isolate to keep (a plan near
 * the largest) is composed all the same, once per location and statuses copy, and kept by the
 * location's cache with the statuses' age: the show never builds a map for a reader, whatever its
 * size, since it would build one for every location and every change. Once the isolate knows a map
 * is that large, a read looks in the location's cache before it needs the frame.
 */
export async function composedMap(
  env: Env,
  ctx: ExecutionContext,
  read: { showId: Id; origin: string; client: Request | undefined; statuses: Copy; path: string; query: SeatFilter },
): Promise<Copy | Failure | null> {
  const { statuses, path } = read;
  if (behindTheShow.has(statuses)) return null;
  const layout = layoutOf(statuses);
  const mapKey = `${path}@${layout}`;
  if (tooLargeToKeep.has(mapKey)) return largeMap(env, ctx, read, null);
  const frame = await frameAt(env, ctx, { ...read, layout });
  if (frame === null) {
    behindTheShow.add(statuses);
    return null;
  }
  const filter = filterNumbers(frame, read.query);
  if ("ok" in filter) return filter;
  let json: string | null = null;
  const map = madeCopy(`${path}#composed`, statuses, () => (json = composed(frame, statuses, filter)));
  if (map !== null) return map;
  if (tooLargeToKeep.size >= MAX_TOO_LARGE) tooLargeToKeep.clear();
  tooLargeToKeep.add(mapKey);
  return largeMap(env, ctx, read, json);
}

function composed(frame: SeatFrame, statuses: Copy, filter: FilterNumbers): string {
  const { statuses: codes, categories } = statusesIn(statuses);
  return seatMapJson(frame, codes, categories, filter);
}

/**
 * A map too large for an isolate to keep, from the location's cache, or composed (`json`, when
 * this read has just composed it) and put there with the statuses' age; null when the show must
 * answer instead, as in `composedMap`.
 */
async function largeMap(
  env: Env,
  ctx: ExecutionContext,
  read: { showId: Id; origin: string; client: Request | undefined; statuses: Copy; path: string; query: SeatFilter },
  json: string | null,
): Promise<Copy | null> {
  const { showId, origin, client, statuses, path, query } = read;
  try {
    return await sharedCopy(env, ctx, { showId, origin, path, client }, async () => {
      if (json === null) {
        const frame = await frameAt(env, ctx, { ...read, layout: layoutOf(statuses) });
        if (frame === null) throw new LayoutChanged();
        const filter = filterNumbers(frame, query);
        if ("ok" in filter) return filter;
        json = composed(frame, statuses, filter);
      }
      return { ok: true, json, etag: statuses.etag, storedAt: storedAt(env, statuses) };
    });
  } catch (error) {
    if (!(error instanceof LayoutChanged)) throw error;
    behindTheShow.add(statuses);
    return null;
  }
}

/** Forgets the frames this isolate has parsed, as a cold isolate would: for tests. */
export function forgetFrames(): void {
  parsedFrames.clear();
  parsedSeats = 0;
}
