import type { z } from "zod";
import type { HoldPolicy } from "../config";
import type { IdempotencyKey } from "../show/types";
import { PATH_PARAMS, type PathParamName } from "./requests";

/** The token a route needs, checked by the router before anything else of the request is read. */
export type Auth = "admin" | "hold" | "booking or admin" | "ticket";

export type Method = "GET" | "POST" | "PUT" | "DELETE";

/** A body schema, or one built from the hold policy (whose bounds come from the environment). */
export type BodySchema = z.ZodObject | ((policy: HoldPolicy) => z.ZodObject);

/**
 * One operation of the API, declared once: the router validates every request from it and the
 * OpenAPI document describes it from it. Nothing here knows which handler serves it.
 */
export interface Operation {
  method: Method;
  /** itty-router pattern; matches with or without a trailing slash. Its `:names` are in PATH_PARAMS. */
  path: string;
  summary: string;
  tag: "Booking" | "Holds" | "Reading" | "Queue" | "Admin" | "Service";
  /** The bearer token the route needs. "admin" is checked against ADMIN_TOKEN by the router. */
  auth?: Auth;
  /** Limited per client address by the rate-limit binding, before anything else is read. */
  rateLimited?: boolean;
  /** The JSON body's schema. */
  body?: BodySchema;
  /** The largest body accepted, in bytes, where it is not MAX_BODY_BYTES (16 KiB). */
  maxBodyBytes?: number;
  /** An empty body reads as `{}`. */
  bodyOptional?: boolean;
  query?: z.ZodObject;
  /**
   * A hold or booking of a show: while the show's waiting room is on, it needs a valid
   * `Admission-Pass` for that show, checked by the router with QUEUE_SECRET alone (403 without).
   */
  admission?: boolean;
  /** Accepts an `Idempotency-Key` header. */
  idempotent?: boolean;
  /**
   * Creates the show it names. Every other operation that names a show is refused with 404 when
   * the show does not exist, before its handler runs (see `requireShow`).
   */
  createsShow?: boolean;
  /** Answers with an ETag, and `If-None-Match` naming it with 304. */
  conditional?: boolean;
  /**
   * A GET that does something besides reading (opens a WebSocket, spends a queue ticket's poll),
   * so it takes no HEAD: every other GET route also answers HEAD.
   */
  acts?: boolean;
  /** Every status the route can answer, with the answer's shape (null: no JSON body). */
  responses: Partial<Record<number | "default", z.ZodType | null>>;
  /** What a status means on this route, where the usual meaning (see `openApiDocument`) would mislead. */
  means?: Partial<Record<number, string>>;
  /** Headers an answer of a status always carries on this route, beyond those every route's does: name to meaning. */
  sends?: Partial<Record<number, Record<string, string>>>;
}

/** Declares an operation, keeping its literal types so that its handler's input is typed from it. */
export function operation<const O extends Operation>(declaration: O): O {
  return declaration;
}

/** The `:names` in a route pattern. */
export type PathParamNames<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | PathParamNames<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;

type ParamsOf<P extends string> = {
  [K in PathParamNames<P>]: K extends PathParamName ? z.output<(typeof PATH_PARAMS)[K]["schema"]> : never;
};

type BodyOf<B> = B extends (policy: HoldPolicy) => infer S
  ? S extends z.ZodObject
    ? z.output<S>
    : never
  : B extends z.ZodObject
    ? z.output<B>
    : undefined;

/** What the token check leaves the handler: the token itself, and whether it was the admin's. */
type TokenOf<A> = A extends "hold" | "ticket"
  ? string
  : A extends "booking or admin"
    ? { token: string; asAdmin: boolean }
    : undefined;

/** A request as a handler receives it: validated, typed, and never to be parsed again. */
export interface Input<O extends Operation> {
  params: ParamsOf<O["path"]>;
  body: BodyOf<O["body"]>;
  query: O["query"] extends z.ZodObject ? z.output<O["query"]> : undefined;
  idempotency: O["idempotent"] extends true ? IdempotencyKey | null : null;
  /** The queue ticket whose admission pass came with the request, while the show's waiting room is on; else null. */
  pass: O["admission"] extends true ? string | null : null;
  /** The `If-None-Match` header of a conditional operation. */
  ifNoneMatch: O["conditional"] extends true ? string | null : null;
  token: TokenOf<O["auth"]>;
  /** `"METHOD /pattern"`, for the audit log. */
  route: string;
  /** The client's address (see `clientKey`) while limits per address are on (`RATE_LIMITING`); else null. */
  client: string | null;
  /** The raw request, for the one route that hands it on (the WebSocket upgrade). */
  request: Request;
}

/** The path parameters a pattern names, checked against PATH_PARAMS when the router is built. */
export function pathParamNames(path: string): PathParamName[] {
  return [...path.matchAll(/:(\w+)/g)].map(([, name]) => {
    if (!(name! in PATH_PARAMS)) throw new Error(`${path} uses :${name}, which PATH_PARAMS does not declare`);
    return name as PathParamName;
  });
}

/** Whether an operation changes something or acts (a socket, a poll): what other sites' pages may not ask for. */
export function acting(operation: Operation): boolean {
  return operation.method !== "GET" || operation.acts === true;
}
