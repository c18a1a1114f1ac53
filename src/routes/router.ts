import { Router, type IRequest } from "itty-router";
import { rateLimited } from "../http/rate-limit";
import { errorResponse, HttpError, json } from "../http/responses";
import { auditLog, blockSeats, putShow, resetSeat, resetShow, unblockSeats, withAdmin } from "./admin";
import { bookSeat, bookSeats, cancelBooking } from "./bookings";
import { confirmHold, createHold, extendHold, releaseHold } from "./holds";
import { listShows, liveSeatMap, seatMap } from "./shows";

type Args = [env: Env, ctx: ExecutionContext];
type Handler = (request: IRequest, ...args: Args) => Response | Promise<Response | void> | void;
type Method = "GET" | "POST" | "PUT" | "DELETE";

/**
 * Registers one path with a handler per method. Any other method on the same
 * path gets 405 with an `Allow` header. (Paths match with or without a trailing slash.)
 */
function resource(
  router: ReturnType<typeof Router<IRequest, Args, Response>>,
  path: string,
  handlers: Partial<Record<Method, Handler>>,
  ...before: Handler[]
): void {
  const allow = Object.keys(handlers).join(", ");
  router.all(path, async (request, ...args) => {
    const handler = handlers[request.method as Method];
    if (handler === undefined) {
      throw new HttpError(405, `Method ${request.method} is not allowed here; use ${allow}`, {}, { allow });
    }
    for (const step of before) await step(request, ...args);
    return handler(request, ...args);
  });
}

function toErrorResponse(error: unknown, request: IRequest): Response {
  if (error instanceof HttpError) return errorResponse(error);
  // The detail goes to the log only; the client learns nothing about internals.
  console.error(
    JSON.stringify({
      message: "unhandled error",
      method: request.method,
      path: new URL(request.url).pathname,
      error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
    }),
  );
  return json({ error: "Internal server error" }, 500);
}

export function buildRouter() {
  const router = Router<IRequest, Args, Response>({ catch: toErrorResponse });

  resource(router, "/healthz", { GET: () => json({ status: "ok" }) });
  resource(router, "/api/book-seat", { POST: bookSeat }, rateLimited);
  resource(router, "/api/shows", { GET: listShows });
  resource(router, "/api/shows/:show_id/seats", { GET: seatMap });
  resource(router, "/api/shows/:show_id/live", { GET: liveSeatMap });
  resource(router, "/api/shows/:show_id/bookings", { POST: bookSeats }, rateLimited);
  resource(router, "/api/shows/:show_id/holds", { POST: createHold }, rateLimited);
  resource(router, "/api/holds/:hold_id", { DELETE: releaseHold }, rateLimited);
  resource(router, "/api/holds/:hold_id/confirm", { POST: confirmHold }, rateLimited);
  resource(router, "/api/holds/:hold_id/extend", { POST: extendHold }, rateLimited);
  resource(router, "/api/bookings/:booking_id", { DELETE: cancelBooking }, rateLimited);

  resource(router, "/admin/shows/:show_id", { PUT: putShow }, withAdmin);
  resource(router, "/admin/shows/:show_id/bookings", { DELETE: resetShow }, withAdmin);
  resource(router, "/admin/shows/:show_id/seats/:seat_id/booking", { DELETE: resetSeat }, withAdmin);
  resource(router, "/admin/shows/:show_id/seats/block", { POST: blockSeats }, withAdmin);
  resource(router, "/admin/shows/:show_id/seats/unblock", { POST: unblockSeats }, withAdmin);
  resource(router, "/admin/shows/:show_id/log", { GET: auditLog }, withAdmin);

  router.all("*", (request) => {
    throw new HttpError(404, "No such route", { method: request.method, path: new URL(request.url).pathname });
  });
  return router;
}
