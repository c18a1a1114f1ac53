import { HttpError } from "../http/responses";
import { publicId, type Id } from "../ids";
import { requireShow } from "./directory";

/** How many times one request calls a show's object before giving up on retryable errors. */
export const MAX_ATTEMPTS = 3;
const BACKOFF_BASE_MS = 40;

type ShowStub = ReturnType<Env["SHOW"]["getByName"]>;

/**
 * Calls the Durable Object that owns a show (one per show id, everywhere). A show that was never
 * created gets 404 without its object being called (`create` is for the one route that makes
 * shows).
 *
 * An object that reports itself overloaded gets a 503 with Retry-After at once: retrying
 * would only add to its load. Errors the platform marks `retryable` are retried with a new
 * stub each time (a broken stub stays broken), at most MAX_ATTEMPTS calls in all, with
 * exponential backoff and full jitter; if they keep failing, the answer is a 503 too.
 * Anything else is a bug and goes to the router's generic 500.
 */
export async function callShow<R extends PromiseLike<unknown>>(
  env: Env,
  showId: Id,
  call: (show: ShowStub) => R,
  { create = false }: { create?: boolean } = {},
): Promise<Awaited<R>> {
  if (!create) await requireShow(env, showId);
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(env.SHOW.getByName(showId));
    } catch (error) {
      const flags = error as { overloaded?: unknown; retryable?: unknown };
      if (flags?.overloaded === true) throw busy(showId, "This show is receiving more requests than it can handle");
      if (flags?.retryable !== true) throw error;
      if (attempt >= MAX_ATTEMPTS) throw busy(showId, "This show is briefly unavailable");
      await new Promise((resolve) => setTimeout(resolve, Math.random() * BACKOFF_BASE_MS * 2 ** (attempt - 1)));
    }
  }
}

function busy(showId: Id, message: string): HttpError {
  return new HttpError(503, `${message}; retry shortly`, { show_id: publicId(showId) }, { "retry-after": "1" });
}
