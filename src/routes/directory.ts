import type { IRequest } from "itty-router";
import { Catalog } from "../catalog/catalog";
import { rateLimited } from "../http/rate-limit";
import { failureToHttp, objectBusy } from "../http/failures";
import { HttpError } from "../http/responses";
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
 * Refuses a show that was never created with its 404. Whether a show exists is asked of the
 * catalog the first time per isolate and remembered after, so a request for an unknown show never
 * reaches (and never creates) a show's object, and the shows that sell pay for the question once
 * per isolate. The router passes the `client`'s request: a question the memo cannot answer counts
 * against that client's rate limit, so made-up ids cannot turn into a flood of catalog lookups
 * (each one is a new id, which no memo of answers would catch).
 */
export async function requireShow(env: Env, showId: Id, client?: Request): Promise<void> {
  if (known.has(showId)) return;
  if (client) await rateLimited(client as unknown as IRequest, env);
  const exists = await askCatalog(env, (catalog) => catalog.exists(showId));
  if (!exists) throw failureToHttp({ ok: false, reason: "unknown_show" }, { showId });
  if (known.size >= MAX_KNOWN) known.clear();
  known.add(showId);
}

/** Notes a show this isolate has just created. */
export function rememberShow(showId: Id): void {
  known.add(showId);
}
