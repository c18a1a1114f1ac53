import { callFlags, showBusy } from "../http/failures";
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
 * shows). `client` is the request to charge when the show has to be looked up (see `requireShow`).
 *
 * An object that reports itself overloaded gets a 503 with Retry-After at once: retrying
 * would only add to its load. An error the platform marks `retryable` may come after the object
 * did the work (the answer was lost on its way back), so it is retried only when `repeatable`
 * says that doing the call twice changes nothing: a read, or a change under an Idempotency-Key,
 * whose repeat the object answers with the first answer. Then it is retried with a new stub each
 * time (a broken stub stays broken), at most MAX_ATTEMPTS calls in all, with exponential backoff
 * and full jitter, and a 503 if they keep failing. A change without a key is never sent twice: a
 * retried booking could answer 409 to the buyer who got the seat. It gets a 503 saying that it
 * may or may not have been made. Anything else is a bug and goes to the router's generic 500.
 */
export async function callShow<R extends PromiseLike<unknown>>(
  env: Env,
  showId: Id,
  call: (show: ShowStub) => R,
  { create = false, repeatable, client }: { create?: boolean; repeatable: boolean; client?: Request },
): Promise<Awaited<R>> {
  if (!create) await requireShow(env, showId, client);
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(env.SHOW.getByName(showId));
    } catch (error) {
      const { overloaded, retryable } = callFlags(error);
      if (overloaded) throw showBusy(showId, "This show is receiving more requests than it can handle");
      if (!retryable) throw error;
      if (!repeatable) throw outcomeUnknown(showId);
      if (attempt >= MAX_ATTEMPTS) throw showBusy(showId);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * BACKOFF_BASE_MS * 2 ** (attempt - 1)));
    }
  }
}

/** A change that failed in a way that does not tell whether the object made it. */
function outcomeUnknown(showId: Id): HttpError {
  // No Retry-After: a client that retries on it would send the change again, which is the point.
  return new HttpError(
    503,
    "This show did not answer, and the change may or may not have been made; check before trying again, or send an Idempotency-Key so that a retry is safe",
    { show_id: publicId(showId) },
  );
}
