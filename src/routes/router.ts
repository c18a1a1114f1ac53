import { Router, type IRequest } from "itty-router";
import type { z } from "zod";
import { holdPolicy } from "../config";
import { openApiDocument } from "../contract/openapi";
import type { Input, Operation } from "../contract/operation";
import { acting, pathParamNames } from "../contract/operation";
import { MAX_URL_BYTES, OPERATIONS, type OperationName, type Operations } from "../contract/operations";
import type { PathParamName } from "../contract/requests";
import {
  BOOKING_TOKEN_PREFIX,
  refuseLongToken,
  refuseOtherSites,
  refuseTokenInUrl,
  requireAdmin,
  requireBearer,
  requireToken,
} from "../http/auth";
import { admissionOf } from "./admission";
import { requireShow } from "./directory";
import { readJsonObject } from "../http/body";
import { clientKey } from "../http/client";
import { idempotencyKey } from "../http/idempotency";
import { rateLimited, rateLimitedOperation } from "../http/rate-limit";
import { callFlags } from "../http/failures";
import { errorResponse, HttpError, json } from "../http/responses";
import { parseBody, parsePathParam } from "../http/validation";

type Args = [env: Env, ctx: ExecutionContext];
type IttyRouter = ReturnType<typeof Router<IRequest, Args, Response>>;

/** Serves one operation with input the router has already validated against its declaration. */
export type Handler<K extends OperationName> = (
  input: Input<Operations[K]>,
  env: Env,
  ctx: ExecutionContext,
) => Response | Promise<Response>;

/** A handler for every operation but the OpenAPI document, which the router serves itself. */
export type Handlers = { [K in Exclude<OperationName, "openApiDocument">]: Handler<K> };

type AnyHandler = (input: Input<Operation>, env: Env, ctx: ExecutionContext) => Response | Promise<Response>;

/**
 * Builds the router from the declarations in `OPERATIONS` and one handler for each. For every
 * request it enforces the declaration in a fixed order: no credential in the query string (401,
 * on any path, whatever else is wrong), URL size (both before the URL is parsed any further),
 * method (405 with `Allow`), admin token, rate limit, path parameters, hold, booking or ticket token, body, query, the
 * admission pass (while the show's waiting room is on), and the `Idempotency-Key`; each failure is the 4xx JSON error the document lists. Only then does the
 * handler run, with typed input it never has to parse again.
 */
export function buildRouter(handlers: Handlers): { fetch(request: Request, ...args: Args): Promise<Response> } {
  const router = Router<IRequest, Args, Response>({ catch: toErrorResponse });
  const bound = new Map<Operation, AnyHandler>();
  for (const [name, declaration] of Object.entries(OPERATIONS) as [OperationName, Operation][]) {
    bound.set(declaration, name === "openApiDocument" ? serveDocument : (handlers[name] as unknown as AnyHandler));
  }
  for (const [path, operations] of Map.groupBy(bound.keys(), (operation) => operation.path)) {
    resource(router, path, operations, bound);
  }
  router.all("*", (request) => {
    throw new HttpError(404, "No such route", { method: request.method, path: new URL(request.url).pathname });
  });
  return {
    fetch(request, ...args) {
      // Before the router reads the query string, which costs it the square of a name's repeats:
      // 10,000 of one name in a 32 KB URL (as far as Cloudflare lets one through) took 170 ms.
      try {
        refuseTokenInUrl(request);
        refuseLongUrl(request);
      } catch (error) {
        return Promise.resolve(errorResponse(error as HttpError));
      }
      return router.fetch(request, ...args);
    },
  };
}

/** One path with its operations, one per method; any other method gets 405 with an `Allow` header. */
function resource(router: IttyRouter, path: string, operations: Operation[], bound: Map<Operation, AnyHandler>) {
  // Read once per path; an undeclared parameter fails the build of the router.
  const paramNames = pathParamNames(path);
  const byMethod = new Map(operations.map((operation) => [operation.method as string, operation]));
  // HEAD is GET without the body (RFC 9110, 9.3.2), on every GET route that only reads.
  const get = byMethod.get("GET");
  if (get !== undefined && !get.acts) byMethod.set("HEAD", get);
  const allow = [...byMethod.keys()].join(", ");
  router.all(path, async (request, env, ctx) => {
    const operation = byMethod.get(request.method);
    if (operation === undefined) {
      throw new HttpError(405, `Method ${request.method} is not allowed here; use ${allow}`, {}, { allow });
    }
    if (acting(operation)) refuseOtherSites(request);
    const input = await validatedInput(operation, paramNames, request, env);
    return bound.get(operation)!(input, env, ctx);
  });
}

async function validatedInput(
  operation: Operation,
  paramNames: PathParamName[],
  request: IRequest,
  env: Env,
): Promise<Input<Operation>> {
  // Admin auth comes first, so no admin route can be left open by omission.
  if (operation.auth === "admin") await requireAdmin(request, env);
  // The client's address, while limits per address are on: for the rate limit and the handler.
  const client = env.RATE_LIMITING === "off" ? null : clientKey(request);
  // Refused from other sites above when it acts, as every rate-limited operation does; else here.
  if (operation.rateLimited) {
    await (acting(operation) ? rateLimitedOperation : rateLimited)(request, env, client ?? undefined);
  }

  const params: Record<string, unknown> = {};
  for (const name of paramNames) params[name] = parsePathParam(name, request.params[name]);

  const token = await tokenFor(operation, request, env);

  const bodySchema = typeof operation.body === "function" ? policyBody(operation.body, env) : operation.body;
  const body = bodySchema
    ? parseBody(
        bodySchema,
        await readJsonObject(request, { optional: operation.bodyOptional, limit: operation.maxBodyBytes }),
      )
    : undefined;
  const query = operation.query ? parseBody(operation.query, queryOf(request)) : undefined;

  // A show this isolate has not seen is looked up in the catalog once, on the client's rate limit
  // (unless the request has paid it already: one request never spends two). Conditional reads are
  // served from shared copies, and ask only when they must read the show itself (their handlers pass
  // the client on), so a copy is served with no lookup at all.
  const showId = showIdOf(params, body);
  if (showId !== undefined && !operation.createsShow && !operation.conditional) {
    await requireShow(env, showId, request as unknown as Request);
  }

  // While the show's waiting room is on, a hold or booking needs its pass (checked with the secret alone).
  const pass = operation.admission ? await admissionOf(env, showId!, request) : null;

  const route = `${operation.method} ${operation.path}`;
  const idempotency = operation.idempotent
    ? await idempotencyKey(request, route, { ...meaningOf(params), ...(body as object) })
    : null;

  const ifNoneMatch = operation.conditional ? request.headers.get("if-none-match") : null;
  request.logShowId = showId;
  const input = { params, body, query, token, pass, idempotency, ifNoneMatch, route, client, request };
  return input as unknown as Input<Operation>;
}

/** The token a hold or booking route needs; admin routes were checked already. */
async function tokenFor(operation: Operation, request: IRequest, env: Env) {
  switch (operation.auth) {
    case "hold":
      return requireToken(request, "hold_token");
    case "ticket":
      return requireToken(request, "ticket_token");
    case "booking or admin": {
      const token = requireBearer(request, "booking_token");
      // A token that starts like a booking token is only ever a booking token; any other can only
      // be the admin token, so it is checked (and a wrong one throttled) as on every admin route:
      // this route is no way around the admin throttle for someone guessing the admin token.
      if (token.startsWith(BOOKING_TOKEN_PREFIX))
        return { token: refuseLongToken(token, "booking_token"), asAdmin: false };
      await requireAdmin(request, env);
      return { token, asAdmin: true };
    }
    default:
      return undefined;
  }
}

/** Path parameters as an idempotency fingerprint sees them: a hold or booking id by its text. */
function meaningOf(params: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(params).map(([name, value]) => [
      name,
      typeof value === "object" && value !== null ? (value as { ref: string }).ref : value,
    ]),
  );
}

function showIdOf(params: Record<string, unknown>, body: unknown): string | undefined {
  for (const value of Object.values(params)) {
    if (typeof value === "object" && value !== null) return (value as { showId: string }).showId;
  }
  if (typeof params.show_id === "string") return params.show_id;
  const fromBody = (body as { show_id?: unknown } | undefined)?.show_id;
  return typeof fromBody === "string" ? fromBody : undefined;
}

type BodyFactory = Extract<Operation["body"], Function>;

/** The hold routes' body schemas depend on the hold policy; built once per policy, not per request. */
const policyBodies = new Map<BodyFactory, { policy: string; schema: z.ZodObject }>();

function policyBody(build: BodyFactory, env: Env): z.ZodObject {
  const policy = holdPolicy(env);
  const key = JSON.stringify(policy);
  const cached = policyBodies.get(build);
  if (cached?.policy === key) return cached.schema;
  const schema = build(policy);
  policyBodies.set(build, { policy: key, schema });
  return schema;
}

/**
 * The query string's parameters; a name given more than once, a list of its values, which no
 * declared parameter takes (the router's own reading keeps only the second of two when the first
 * is empty).
 */
function queryOf(request: IRequest): Record<string, string | string[]> {
  const values = new Map<string, string[]>();
  for (const [name, value] of new URL(request.url).searchParams) {
    const named = values.get(name);
    if (named === undefined) values.set(name, [value]);
    else named.push(value);
  }
  return Object.fromEntries([...values].map(([name, list]) => [name, list.length === 1 ? list[0]! : list]));
}

function refuseLongUrl(request: Request): void {
  if (request.url.length > MAX_URL_BYTES) {
    throw new HttpError(414, `The URL must not exceed ${MAX_URL_BYTES} bytes`, { limit_bytes: MAX_URL_BYTES });
  }
}

/** `GET /openapi.json`, registered here so that the document never depends on the handlers. */
function serveDocument(_input: Input<Operation>, env: Env): Response {
  return json(openApiDocument(env));
}

function toErrorResponse(error: unknown, request: IRequest): Response {
  if (error instanceof HttpError) return errorResponse(error);
  // An object the route called directly (a queue shard, a waiting room) that is overloaded or
  // briefly unreachable: 503, as the routes that wrap their calls answer it. An overloaded object
  // refused the call, so it may be sent again (Retry-After); a call that failed on its way may have
  // been made, so a POST (which is not idempotent: a second queue ticket) is told so, with none.
  const { overloaded, retryable } = callFlags(error);
  if (overloaded || retryable) {
    const { method } = request;
    console.error(JSON.stringify({ message: "object call failed", method, overloaded, error: String(error) }));
    if (overloaded || method !== "POST") {
      return errorResponse(
        new HttpError(503, "This service is briefly unavailable; retry shortly", {}, { "retry-after": "1" }),
      );
    }
    return errorResponse(
      new HttpError(503, "The service did not answer, and the request may or may not have been carried out"),
    );
  }
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
