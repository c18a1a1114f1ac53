import type { IRequest } from "itty-router";
import type { z } from "zod";
import type { HoldPolicy } from "../config";
import { openApiDocument } from "../contract/openapi";
import * as answers from "../contract/schemas";
import { rateLimited } from "../http/rate-limit";
import { json } from "../http/responses";
import {
  AuditLogQuery,
  BlockBody,
  BookSeatBody,
  extendBody,
  GroupBookingBody,
  holdBody,
  ShowLayoutBody,
  UnblockBody,
} from "../http/validation";
import { auditLog, blockSeats, putShow, resetSeat, resetShow, unblockSeats } from "./admin";
import { bookSeat, bookSeats, cancelBooking } from "./bookings";
import { confirmHold, createHold, extendHold, releaseHold } from "./holds";
import { listShows, liveSeatMap, seatMap } from "./shows";

export type Args = [env: Env, ctx: ExecutionContext];
export type Handler = (request: IRequest, ...args: Args) => Response | Promise<Response | void> | void;
export type Method = "GET" | "POST" | "PUT" | "DELETE";

/**
 * One route: how the router serves it and how the OpenAPI document describes it. The router
 * and the document are both built from this table, so neither can have a route the other lacks.
 */
export interface Route {
  method: Method;
  /** itty-router pattern; matches with or without a trailing slash. */
  path: string;
  handler: Handler;
  /** Steps run before the handler, such as rate limiting. (Admin auth follows from `auth`.) */
  before?: Handler[];
  summary: string;
  tag: "Booking" | "Holds" | "Reading" | "Admin" | "Service";
  /** Which bearer token the route needs. "admin" makes the router check ADMIN_TOKEN before anything else. */
  auth?: "admin" | "hold" | "booking or admin";
  /** The JSON body's schema, the one that validates it. */
  body?: z.ZodObject | ((policy: HoldPolicy) => z.ZodObject);
  bodyOptional?: boolean;
  query?: z.ZodObject;
  /** Accepts an `Idempotency-Key` header. */
  idempotent?: boolean;
  /** Every status the route can answer, with the answer's shape (null: no JSON body). */
  responses: Partial<Record<number, z.ZodType | null>>;
}

const E = answers.ErrorBody;
/** Statuses every route that calls a show's object can answer. */
const SHOW_CALL = { 500: E, 503: E } as const;
const BODY = { 400: E, 413: E } as const;
const LIMITED = { 429: E } as const;
const ADMIN = { 401: E } as const;

export const ROUTES: Route[] = [
  {
    method: "GET",
    path: "/healthz",
    handler: () => json({ status: "ok" }),
    summary: "Whether the Worker is up",
    tag: "Service",
    responses: { 200: answers.Health },
  },
  {
    method: "GET",
    path: "/openapi.json",
    handler: (request, env) => json(openApiDocument(ROUTES, env, new URL(request.url).origin)),
    summary: "This document",
    tag: "Service",
    responses: { 200: null },
  },
  {
    method: "POST",
    path: "/api/book-seat",
    handler: bookSeat,
    before: [rateLimited],
    summary: "Book one seat (the old system's route, same body, statuses and messages)",
    tag: "Booking",
    body: BookSeatBody,
    idempotent: true,
    responses: { 200: answers.BookSeatAnswer, ...BODY, 404: E, 409: E, 422: E, ...LIMITED, ...SHOW_CALL },
  },
  {
    method: "GET",
    path: "/api/shows",
    handler: listShows,
    summary: "List shows with name, capacity and available seats",
    tag: "Reading",
    responses: { 200: answers.ShowList, ...SHOW_CALL },
  },
  {
    method: "GET",
    path: "/api/shows/:show_id/seats",
    handler: seatMap,
    summary: "The seat map: every seat's status, and the counts",
    tag: "Reading",
    responses: { 200: answers.SeatMap, 400: E, 404: E, ...SHOW_CALL },
  },
  {
    method: "GET",
    path: "/api/shows/:show_id/live",
    handler: liveSeatMap,
    before: [rateLimited],
    summary: "WebSocket: a snapshot of the seat map, then one event per seat change (see the README)",
    tag: "Reading",
    responses: { 101: null, 400: E, 404: E, 426: E, ...LIMITED, ...SHOW_CALL },
  },
  {
    method: "POST",
    path: "/api/shows/:show_id/bookings",
    handler: bookSeats,
    before: [rateLimited],
    summary: "Book several seats, all or none",
    tag: "Booking",
    body: GroupBookingBody,
    idempotent: true,
    responses: { 200: answers.BookingsAnswer, ...BODY, 404: E, 409: E, 422: E, ...LIMITED, ...SHOW_CALL },
  },
  {
    method: "POST",
    path: "/api/shows/:show_id/holds",
    handler: createHold,
    before: [rateLimited],
    summary: "Hold seats for a while, all or none",
    tag: "Holds",
    body: holdBody,
    idempotent: true,
    responses: { 201: answers.NewHold, ...BODY, 404: E, 409: E, 422: E, ...LIMITED, ...SHOW_CALL },
  },
  {
    method: "DELETE",
    path: "/api/holds/:hold_id",
    handler: releaseHold,
    before: [rateLimited],
    summary: "Release a hold",
    tag: "Holds",
    auth: "hold",
    responses: { 200: answers.HoldReleased, 400: E, 401: E, 403: E, 404: E, 409: E, 410: E, ...LIMITED, ...SHOW_CALL },
  },
  {
    method: "POST",
    path: "/api/holds/:hold_id/confirm",
    handler: confirmHold,
    before: [rateLimited],
    summary: "Turn a hold into bookings",
    tag: "Holds",
    auth: "hold",
    idempotent: true,
    responses: {
      200: answers.ConfirmAnswer,
      400: E,
      401: E,
      403: E,
      404: E,
      409: E,
      410: E,
      422: E,
      ...LIMITED,
      ...SHOW_CALL,
    },
  },
  {
    method: "POST",
    path: "/api/holds/:hold_id/extend",
    handler: extendHold,
    before: [rateLimited],
    summary: "Lengthen a hold, up to its maximum lifetime",
    tag: "Holds",
    auth: "hold",
    body: extendBody,
    bodyOptional: true,
    idempotent: true,
    responses: { 200: answers.Hold, ...BODY, 401: E, 403: E, 404: E, 409: E, 410: E, 422: E, ...LIMITED, ...SHOW_CALL },
  },
  {
    method: "DELETE",
    path: "/api/bookings/:booking_id",
    handler: cancelBooking,
    before: [rateLimited],
    summary: "Cancel a booking with its booking token, or the admin token",
    tag: "Booking",
    auth: "booking or admin",
    responses: { 200: answers.BookingCancelled, 400: E, 401: E, 403: E, 404: E, ...LIMITED, ...SHOW_CALL },
  },
  {
    method: "PUT",
    path: "/admin/shows/:show_id",
    handler: putShow,
    summary: "Create a show or change its name and layout",
    tag: "Admin",
    auth: "admin",
    body: ShowLayoutBody,
    responses: { 200: answers.ShowWritten, 201: answers.ShowWritten, ...BODY, ...ADMIN, 409: E, ...SHOW_CALL },
  },
  {
    method: "DELETE",
    path: "/admin/shows/:show_id/bookings",
    handler: resetShow,
    summary: "Reset a show: cancel every booking and release every hold",
    tag: "Admin",
    auth: "admin",
    responses: { 200: answers.ShowReset, 400: E, ...ADMIN, 404: E, ...SHOW_CALL },
  },
  {
    method: "DELETE",
    path: "/admin/shows/:show_id/seats/:seat_id/booking",
    handler: resetSeat,
    summary: "Reset a seat: cancel its booking or release the hold that has it",
    tag: "Admin",
    auth: "admin",
    responses: { 200: answers.SeatReset, 400: E, ...ADMIN, 404: E, ...SHOW_CALL },
  },
  {
    method: "POST",
    path: "/admin/shows/:show_id/seats/block",
    handler: blockSeats,
    summary: "Block seats, all or none, with a reason",
    tag: "Admin",
    auth: "admin",
    body: BlockBody,
    idempotent: true,
    responses: { 200: answers.SeatsBlocked, ...BODY, ...ADMIN, 404: E, 409: E, 422: E, ...SHOW_CALL },
  },
  {
    method: "POST",
    path: "/admin/shows/:show_id/seats/unblock",
    handler: unblockSeats,
    summary: "Unblock seats",
    tag: "Admin",
    auth: "admin",
    body: UnblockBody,
    idempotent: true,
    responses: { 200: answers.SeatsUnblocked, ...BODY, ...ADMIN, 404: E, 422: E, ...SHOW_CALL },
  },
  {
    method: "GET",
    path: "/admin/shows/:show_id/log",
    handler: auditLog,
    summary: "The audit log of seat status changes, a page at a time",
    tag: "Admin",
    auth: "admin",
    query: AuditLogQuery,
    responses: { 200: answers.AuditPage, 400: E, ...ADMIN, 404: E, ...SHOW_CALL },
  },
];
