import { Router, type IRequest } from "itty-router";
import { errorResponse, HttpError, json } from "../http/responses";
import { requireAdmin } from "../http/auth";
import { ROUTES, type Args, type Handler, type Method, type Route } from "./table";

type IttyRouter = ReturnType<typeof Router<IRequest, Args, Response>>;

/**
 * Registers one path with its routes, one per method. Any other method on the same path gets
 * 405 with an `Allow` header. (Paths match with or without a trailing slash.)
 */
function resource(router: IttyRouter, path: string, routes: Route[]): void {
  const byMethod = new Map<string, Route>(routes.map((route) => [route.method, route]));
  const allow = [...byMethod.keys()].join(", ");
  router.all(path, async (request, ...args) => {
    const route = byMethod.get(request.method as Method);
    if (route === undefined) {
      throw new HttpError(405, `Method ${request.method} is not allowed here; use ${allow}`, {}, { allow });
    }
    // Admin auth comes from the route's `auth`, first, so no admin route can be left open by omission.
    const steps: Handler[] = [...(route.auth === "admin" ? [requireAdmin] : []), ...(route.before ?? [])];
    for (const step of steps) await step(request, ...args);
    return route.handler(request, ...args);
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
  const paths = Map.groupBy(ROUTES, (route) => route.path);
  for (const [path, routes] of paths) resource(router, path, routes);
  router.all("*", (request) => {
    throw new HttpError(404, "No such route", { method: request.method, path: new URL(request.url).pathname });
  });
  return router;
}
