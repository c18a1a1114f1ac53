import { failureToHttp } from "../http/failures";
import type { Id } from "../ids";
import { callShow } from "./stubs";

/**
 * A seat map as served: its JSON, encoded once (a 10,000-seat map is about 380 KB, which no
 * reader should pay to encode again), its ETag, and when this copy stops being fresh (ms).
 */
interface Copy {
  body: Uint8Array;
  etag: string;
  freshUntil: number;
}

/** How stale a seat map read may be, in seconds (SEAT_MAP_MAX_AGE_SECONDS; 0 turns caching off). */
export function seatMapMaxAge(env: Env): number {
  const seconds = Number(env.SEAT_MAP_MAX_AGE_SECONDS);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : 1;
}

/** Copies this isolate holds, and reads it has in flight, per show. */
const copies = new Map<Id, Copy>();
const inFlight = new Map<Id, { read: Promise<Copy>; startedAt: number }>();
const MAX_COPIES = 1000;
/**
 * How long a reader waits on another request's read before it reads for itself. A read belongs
 * to the request that started it; if that request is cancelled (its client went away), the read
 * may never settle, and nobody else may wait on it for ever.
 */
const SHARED_READ_WAIT_MS = 2000;

/**
 * The seat map of a show, at most `SEAT_MAP_MAX_AGE_SECONDS` old. A storm of readers costs the
 * show's object at most about one read per second per location: each isolate keeps its copy for
 * that long and asks once for all its concurrent readers, and the location's Cache API holds a
 * copy for the isolates there. A read that finds none asks the object, which builds the map once
 * per change.
 */
export async function seatMapCopy(env: Env, ctx: ExecutionContext, showId: Id, origin: string): Promise<Copy> {
  const maxAge = seatMapMaxAge(env);
  const now = Date.now();
  const held = copies.get(showId);
  if (held && held.freshUntil > now) return held;
  const pending = inFlight.get(showId);
  if (pending && now - pending.startedAt < SHARED_READ_WAIT_MS) {
    const shared = await Promise.race([
      pending.read.catch(() => null),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), SHARED_READ_WAIT_MS)),
    ]);
    if (shared) return shared;
  }
  const read = readThrough(
    env,
    ctx,
    showId,
    new Request(`${origin}/api/shows/${encodeURIComponent(showId)}/seats`),
    maxAge,
  );
  const entry = { read, startedAt: now };
  inFlight.set(showId, entry);
  try {
    const copy = await read;
    if (maxAge > 0) {
      if (copies.size >= MAX_COPIES) copies.clear();
      copies.set(showId, copy);
    }
    return copy;
  } finally {
    if (inFlight.get(showId) === entry) inFlight.delete(showId);
  }
}

async function readThrough(env: Env, ctx: ExecutionContext, showId: Id, key: Request, maxAge: number): Promise<Copy> {
  const cache = maxAge > 0 ? await caches.open("seat-maps") : null;
  const cached = await cache?.match(key);
  if (cached) {
    const age = Number(cached.headers.get("x-stored-at"));
    const body = new Uint8Array(await cached.arrayBuffer());
    return { body, etag: cached.headers.get("etag") ?? "", freshUntil: age + maxAge * 1000 };
  }
  const result = await callShow(env, showId, (show) => show.seatMapJson());
  if (!result.ok) throw failureToHttp(result, { showId });
  const storedAt = Date.now();
  if (cache) {
    const headers = { etag: result.etag, "cache-control": `max-age=${maxAge}`, "x-stored-at": String(storedAt) };
    ctx.waitUntil(cache.put(key, new Response(result.json, { headers })));
  }
  return { body: new TextEncoder().encode(result.json), etag: result.etag, freshUntil: storedAt + maxAge * 1000 };
}
