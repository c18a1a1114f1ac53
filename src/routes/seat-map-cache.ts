import { gzipSync } from "node:zlib";
import { wholeNumberOr } from "../config";
import { failureToHttp } from "../http/failures";
import type { Id } from "../ids";
import type { Failure } from "../show/types";
import { rememberShow, requireShow } from "./directory";
import { InFlight, NONE } from "./questions";

/**
 * A read of a show as served (its seat map, statuses or plan): the JSON, encoded once (a
 * 10,000-seat map is about 380 KB, which no reader should pay to encode again), its ETag, and
 * when this copy stops being fresh (ms). Its gzip form is made once, the first time a reader
 * accepts it (`gzipped`), and served as it is to every reader after.
 */
export interface Copy {
  body: Uint8Array;
  etag: string;
  freshUntil: number;
}

const gzipForms = new WeakMap<Copy, Uint8Array>();

/**
 * Whether a copy is served gzipped by the Worker: not one too large for an isolate to keep (a plan
 * of many MB), which would be compressed again for every request; that one goes out as it is, for
 * the platform to compress.
 */
export function compressible(copy: Copy): boolean {
  return keepable(copy.body.byteLength);
}

/**
 * The (compressible) copy's body compressed with gzip, made once per copy however many readers ask.
 * Compressed at once, in the request that first asks (a few ms for a 10,000-seat map), so that no
 * reader ever waits on a compression another request started and may not live to finish.
 */
export function gzipped(copy: Copy): Uint8Array {
  let form = gzipForms.get(copy);
  if (form === undefined) {
    form = new Uint8Array(gzipSync(copy.body));
    gzipForms.set(copy, form);
  }
  return form;
}

/** How long a read at one layout version (a plan, a frame) is kept by each location's cache. */
export const PLAN_MAX_AGE_SECONDS = 3600;

/** Where a show's reads live: the start of their paths, and of their copies' cache keys. */
export function showPath(showId: string): string {
  return `/api/shows/${encodeURIComponent(showId)}`;
}

/** The layout version a statuses copy describes: its ETag is `"<layout>.<version>"`. */
export function layoutOf(statuses: Copy): number {
  return Number(statuses.etag.slice(1).split(".")[0]);
}

/**
 * What the show's object answers a read with; a read made from an earlier copy says when that was
 * read from the show (`storedAt`), so that the staleness bound counts from then.
 */
type Read = () => Promise<{ ok: true; json: string; etag: string; storedAt?: number } | Failure>;

/** When a copy read with the default max age was read from its show. */
export function storedAt(env: Env, copy: Copy): number {
  return copy.freshUntil - seatMapMaxAge(env) * 1000;
}

/**
 * How stale a read may be, in whole seconds (SEAT_MAP_MAX_AGE_SECONDS; 0 turns caching off, which
 * only a written 0 does: an empty or malformed value is the default, 1; at most an hour).
 */
export function seatMapMaxAge(env: Env): number {
  return wholeNumberOr(env.SEAT_MAP_MAX_AGE_SECONDS, 1, 60 * 60);
}

/** Copies this isolate holds, and reads it has in flight, by what was read (`<show>/<kind>?<query>`). */
const copies = new Map<string, Copy>();
const reads = new InFlight<Copy>();
const MAX_COPIES = 1000;
/** Bytes of copies an isolate holds at most (isolates have 128 MB); a larger copy is only cached per location. */
const MAX_COPY_BYTES = 32 * 1024 * 1024;
const MAX_COPY_BYTES_EACH = 4 * 1024 * 1024;
let heldBytes = 0;
/**
 * How long a reader waits on another request's read before it reads for itself. A read belongs
 * to the request that started it; if that request is cancelled (its client went away), the read
 * may never settle, and nobody else may wait on it for ever.
 */
const SHARED_READ_WAIT_MS = 2000;

/**
 * A read of a show (or a page of the show list, which has no `showId`), at most
 * `SEAT_MAP_MAX_AGE_SECONDS` old. A storm of readers costs the show's (or the catalog's)
 * object at most about one read per second per location and per kind of read: each isolate keeps
 * its copy for that long and asks once for all its concurrent readers, and the location's Cache
 * API holds a copy for the isolates there. A read that finds none asks the object, which builds
 * the answer once per change.
 *
 * `path` is the route's path with its query (`/api/shows/1/seats?category=A`): the cache key.
 * `client` is the request to charge if the show must be looked up (see `requireShow`): a copy held
 * here is served with no lookup; otherwise the show is required first, for this request alone,
 * before it joins or starts a read, so that no refusal of one request's own (its client's rate
 * limit, another site's page) is ever a shared read's answer to another.
 * `maxAge` overrides SEAT_MAP_MAX_AGE_SECONDS for reads whose key names their version; such a read
 * that is only ever used to build others (`internal`: the seat map's frame) is kept even when
 * SEAT_MAP_MAX_AGE_SECONDS is 0, since keeping it never makes an answer stale.
 */
export async function sharedCopy(
  env: Env,
  ctx: ExecutionContext,
  {
    showId,
    origin,
    path,
    maxAge: keep,
    internal = false,
    client,
  }: { showId?: Id; origin: string; path: string; maxAge?: number; internal?: boolean; client?: Request },
  read: Read,
): Promise<Copy> {
  // `keep` is for reads that never go stale (a plan at a layout version); 0 still turns caching
  // off for what clients are served.
  const maxAge = seatMapMaxAge(env) === 0 && !internal ? 0 : (keep ?? seatMapMaxAge(env));
  const now = Date.now();
  const held = copies.get(path);
  // A copy was made from the show's answer, and a show is never deleted: a copy says the show
  // exists, so what is built from it (a map too large to keep, say) needs no lookup either.
  if (held && held.freshUntil > now) return known(held, showId);
  // The location's copy needs no lookup of the show either.
  const key = new Request(`${origin}${path}`);
  const located = maxAge > 0 ? await fromLocation(key, maxAge) : null;
  if (located) {
    hold(path, located);
    return known(located, showId);
  }
  if (showId !== undefined) await requireShow(env, showId, client);
  // A read started before this request may have read the show before a change this client made or
  // knows of: it is shared only within the staleness bound (never while copies are off). Its
  // failure with an HttpError (a busy object's 503) is every waiter's (see `InFlight.join`).
  const bound = Math.min(maxAge * 1000, SHARED_READ_WAIT_MS);
  const joinable = (startedAt: number) => maxAge > 0 && (startedAt >= now || now - startedAt < bound);
  const joined = reads.join(path, joinable, SHARED_READ_WAIT_MS);
  if (joined !== null) {
    const shared = await joined;
    if (shared !== NONE) return shared;
    // One that waited in vain looks at the location's cache once more: another isolate may have
    // put a copy there meanwhile.
    const again = await fromLocation(key, maxAge);
    if (again) {
      hold(path, again);
      return again;
    }
  }
  return reads.ask(path, async () => {
    const copy = await readThrough(ctx, showId, key, maxAge, read);
    if (maxAge > 0) hold(path, copy);
    return copy;
  });
}

/** Copies the Worker made from another copy (a seat map from the statuses), and the copy each was made from. */
const madeFrom = new WeakMap<Copy, Copy>();

/**
 * A copy the Worker makes from another (`source`, such as a seat map from the statuses): made once
 * per source copy and kept under `path` like every copy, so it counts against the isolate's budget,
 * with the source's ETag and freshness. Null when it is too large for an isolate to keep: the
 * caller then reads it as a copy of its own, which the location's cache can hold.
 */
export function madeCopy(path: string, source: Copy, make: () => string): Copy | null {
  const held = copies.get(path);
  if (held !== undefined && madeFrom.get(held) === source) return held;
  const body = new TextEncoder().encode(make());
  if (!keepable(body.byteLength)) return null;
  const copy = { body, etag: source.etag, freshUntil: source.freshUntil };
  madeFrom.set(copy, source);
  if (source.freshUntil > Date.now()) hold(path, copy);
  return copy;
}

/** Whether a body of this many bytes is small enough for an isolate to keep (and to compress once). */
export function keepable(bytes: number): boolean {
  return bytes <= MAX_COPY_BYTES_EACH;
}

function hold(path: string, copy: Copy): void {
  const size = copy.body.byteLength;
  if (!keepable(size)) return;
  if (copies.size >= MAX_COPIES || heldBytes + size > MAX_COPY_BYTES) {
    copies.clear();
    heldBytes = 0;
  }
  heldBytes += size - (copies.get(path)?.body.byteLength ?? 0);
  copies.set(path, copy);
}

/** `copy`, having noted that its show exists (see `sharedCopy`). */
function known(copy: Copy, showId: Id | undefined): Copy {
  if (showId !== undefined) rememberShow(showId);
  return copy;
}

/** The location's copy under `key`, if it is within the staleness bound. */
async function fromLocation(key: Request, maxAge: number): Promise<Copy | null> {
  const cached = await (await caches.open("seat-maps")).match(key);
  if (!cached) return null;
  const storedAt = Number(cached.headers.get("x-stored-at"));
  // A cache may answer with a copy past its max-age; the staleness bound is ours to keep.
  if (storedAt + maxAge * 1000 <= Date.now()) {
    await cached.body?.cancel();
    return null;
  }
  const body = new Uint8Array(await cached.arrayBuffer());
  return { body, etag: cached.headers.get("etag") ?? "", freshUntil: storedAt + maxAge * 1000 };
}

async function readThrough(
  ctx: ExecutionContext,
  showId: Id | undefined,
  key: Request,
  maxAge: number,
  read: Read,
): Promise<Copy> {
  const cache = maxAge > 0 ? await caches.open("seat-maps") : null;
  // The copy's age counts from when the show was asked: its answer may be slow to arrive.
  const asked = Date.now();
  const result = await read();
  if (!result.ok) throw failureToHttp(result, { showId });
  const storedAt = Math.min(asked, result.storedAt ?? asked);
  if (cache) {
    const headers = { etag: result.etag, "cache-control": `max-age=${maxAge}`, "x-stored-at": String(storedAt) };
    ctx.waitUntil(cache.put(key, new Response(result.json, { headers })));
  }
  return { body: new TextEncoder().encode(result.json), etag: result.etag, freshUntil: storedAt + maxAge * 1000 };
}
