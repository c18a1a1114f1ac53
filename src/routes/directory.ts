import type { IRequest } from "itty-router";
import { Catalog } from "../catalog/catalog";
import { hasSpent, rateLimited } from "../http/rate-limit";
import { failureToHttp, objectBusy } from "../http/failures";
import { HttpError } from "../http/responses";
import { SharedQuestions } from "./questions";
import type { Id } from "../ids";

/**
 * Shows this isolate has seen exist. A show is never deleted (the catalog only drops an entry
 * whose show has no data, which no request reached), so a yes never goes stale.
 */
const known = new Set<Id>();
/** Bound on the memo, so that no number of shows can grow an isolate without end. */
const MAX_KNOWN = 100_000;

export function catalogObject(env: Env) {
  return env.CATALOG.getByName(Catalog.NAME);
}

/**
 * Calls the catalog. It is one object for everybody: when it is overloaded or briefly unreachable,
 * the client gets a 503 with Retry-After, as for a show's own object, rather than a bare 500.
 */
export async function askCatalog<R>(
  env: Env,
  call: (catalog: ReturnType<typeof catalogObject>) => Promise<R>,
): Promise<R> {
  try {
    return await call(catalogObject(env));
  } catch (error) {
    if (!objectBusy(error)) throw error;
    throw new HttpError(503, "The list of shows is briefly unavailable; retry shortly", {}, { "retry-after": "1" });
  }
}

/**
 * Refuses a show that was never created with its 404. Whether a show exists is asked the first
 * time per isolate and remembered after, so a request for an unknown show never reaches (and never
 * creates) a show's object, and the shows that sell pay for the question once per isolate. The
 * router passes the client's `request`: a question the memo cannot answer counts against that
 * client's rate limit (unless the request has spent one already: see `hasSpent`), so made-up ids cannot
 * turn into a flood of lookups (each one is a new id, which no memo of answers would catch).
 *
 * The catalog is one object for every location, so an on-sale's first seconds, when every cold
 * isolate everywhere meets the show at once, must not all ask it: a yes is kept in the location's
 * cache (for every isolate there, under the request's origin, as that cache wants its keys), and the
 * concurrent requests of one isolate share one question. Without a `request` (a call on behalf of
 * none: a room's status, say), the catalog is asked directly.
 */
export async function requireShow(env: Env, showId: Id, request?: Request): Promise<void> {
  if (known.has(showId)) return;
  if (request && !hasSpent(request)) await rateLimited(request as unknown as IRequest, env);
  const origin = request === undefined ? null : new URL(request.url).origin;
  if (!(await existence.ask(showId, () => lookUp(env, showId, origin))))
    throw failureToHttp({ ok: false, reason: "unknown_show" }, { showId });
  rememberShow(showId);
}

/** Notes a show this isolate has just created. */
export function rememberShow(showId: Id): void {
  if (known.size >= MAX_KNOWN) known.clear();
  known.add(showId);
}

/**
 * Whether a show exists, asked once at a time per show. Only a yes is shared with the requests
 * waiting on a question, and only a yes is kept: a request that waited on a no asks for itself, so
 * a show created while another request's question was on its way is never refused.
 */
const existence = new SharedQuestions<boolean>((exists) => exists);

/** Asks the location's cache (when the request's `origin` is known), then the catalog. */
async function lookUp(env: Env, showId: Id, origin: string | null): Promise<boolean> {
  const cache = origin === null ? null : await caches.open("shows");
  const key = `${origin}/api/shows/${encodeURIComponent(showId)}`;
  const kept = await cache?.match(key);
  if (kept) {
    await kept.body?.cancel();
    return true;
  }
  const exists = await askCatalog(env, (catalog) => catalog.exists(showId));
  // A yes never goes stale (see `known`). Not awaited: the request goes on to its show meanwhile,
  // and a lost write only means another isolate asks the catalog.
  if (exists && cache) {
    void cache.put(key, new Response("1", { headers: { "cache-control": "max-age=31536000" } })).catch(() => {});
  }
  return exists;
}

/** Forgets every show this isolate knows, as a cold isolate would: for tests. */
export function forgetShows(): void {
  known.clear();
}
