import * as answers from "./answers";
import { operation } from "./operation";
import {
  AuditLogQuery,
  BlockBody,
  BookSeatBody,
  extendBody,
  GroupBookingBody,
  holdBody,
  LiveQuery,
  SeatMapQuery,
  ShowListQuery,
  ShowLayoutBody,
  UnblockBody,
  WaitingRoomBody,
} from "./requests";

/**
 * Every operation of the API. The router serves exactly these, validating each request from
 * its declaration, and the OpenAPI document describes exactly these.
 */

const E = answers.ErrorBody;
/** Statuses every route that calls a show's object can answer. */
const SHOW_CALL = { 500: E, 503: E } as const;
/** The `Seat-Map-Version` header of a change a page makes (see `versionHeader`). */
const SEAT_MAP_VERSION =
  "The show's change number once this change was made, as the live seat map numbers its updates: updates up to it came before it, or are its own";
const BODY = { 400: E, 413: E } as const;
/**
 * Past the client's rate limit. Every operation that names a show can answer it: a show the
 * isolate does not know yet is looked up on the client's allowance (see `requireShow`).
 */
const LIMITED = { 429: E } as const;
/**
 * A read that may spend a request of the client's rate limit (a show the isolate does not know
 * yet, a filtered map, a list page past the first) refuses another site's page (403) while limits
 * per address are on: that page would spend its visitors' budgets.
 */
const COSTLY_READ = { 403: E } as const;
const COSTLY_READ_MEANS = {
  403: "A page of another site (Sec-Fetch-Site: cross-site, or a foreign Origin), for a read that would spend a request of its visitor's rate limit, while limits per address are on",
};
/** A missing or wrong admin token; 429 once the client has sent too many wrong ones. */
const ADMIN = { 401: E, 429: E } as const;
/** Holds and bookings while the show's waiting room is on: no pass, or a bad one. */
const PASS = { 403: E } as const;

/** The largest body `PUT /admin/shows/:show_id` accepts: a plan of 100,000 seats fits. Other routes take 16 KiB. */
export const MAX_PLAN_BODY_BYTES = 16 * 1024 * 1024;

/** The longest request URL any route accepts, in bytes; longer ones get 414. */
export const MAX_URL_BYTES = 2048;

/** Statuses every route can answer, whatever it declares: a credential in the query string (401), a long URL. */
export const EVERY_ROUTE = { 401: E, 414: E } as const;
/** Statuses every route that changes something (or a GET that acts) can answer: a page of another site (403). */
export const EVERY_ACTING_ROUTE = { 403: E } as const;

export const OPERATIONS = {
  health: operation({
    method: "GET",
    path: "/healthz",
    summary: "Whether the Worker is up",
    tag: "Service",
    responses: { 200: answers.Health },
  }),
  openApiDocument: operation({
    method: "GET",
    path: "/openapi.json",
    summary: "This document",
    tag: "Service",
    responses: { 200: null },
  }),
  bookSeat: operation({
    method: "POST",
    path: "/api/book-seat",
    rateLimited: true,
    summary: "Book one seat (the old system's route, same body, statuses and messages)",
    tag: "Booking",
    body: BookSeatBody,
    admission: true,
    idempotent: true,
    responses: { 200: answers.BookSeatAnswer, ...BODY, ...PASS, 404: E, 409: E, 422: E, ...LIMITED, ...SHOW_CALL },
  }),
  listShows: operation({
    method: "GET",
    path: "/api/shows",
    summary:
      "List shows with name, capacity and available seats, a page at a time (at most SEAT_MAP_MAX_AGE_SECONDS old; every page but the first of 50 or 200 is rate limited)",
    tag: "Reading",
    query: ShowListQuery,
    responses: { 200: answers.ShowList, 400: E, ...COSTLY_READ, ...LIMITED, ...SHOW_CALL },
    means: COSTLY_READ_MEANS,
  }),
  seatMap: operation({
    method: "GET",
    path: "/api/shows/:show_id/seats",
    summary:
      "The seat map: every seat's status, or those of one ?category= or ?zone= (rate limited), and the counts (at most SEAT_MAP_MAX_AGE_SECONDS old)",
    tag: "Reading",
    query: SeatMapQuery,
    conditional: true,
    responses: { 200: answers.SeatMap, 304: null, 400: E, ...COSTLY_READ, 404: E, ...LIMITED, ...SHOW_CALL },
    means: COSTLY_READ_MEANS,
  }),
  seatStatuses: operation({
    method: "GET",
    path: "/api/shows/:show_id/statuses",
    summary:
      "Every seat's status as one character per seat in plan order, and the counts per category and zone: the compact seat map (at most SEAT_MAP_MAX_AGE_SECONDS old)",
    tag: "Reading",
    conditional: true,
    responses: { 200: answers.SeatStatuses, 304: null, 400: E, ...COSTLY_READ, 404: E, ...LIMITED, ...SHOW_CALL },
    means: COSTLY_READ_MEANS,
  }),
  showPlan: operation({
    method: "GET",
    path: "/api/shows/:show_id/plan",
    summary: "The seating plan (pretix's format): zones, rows, seats with positions, categories, areas",
    tag: "Reading",
    conditional: true,
    responses: { 200: answers.ShowPlan, 304: null, 400: E, ...COSTLY_READ, 404: E, ...LIMITED, ...SHOW_CALL },
    means: COSTLY_READ_MEANS,
  }),
  liveSeatMap: operation({
    method: "GET",
    path: "/api/shows/:show_id/live",
    rateLimited: true,
    acts: true,
    summary:
      "WebSocket, held by one of the show's relays: the layout, a snapshot, then batches of changes (see the README)",
    tag: "Reading",
    query: LiveQuery,
    // A WebSocket upgrade succeeds with 101, which OpenAPI has no way to call a success.
    responses: { 101: null, 400: E, 404: E, 426: E, ...LIMITED, ...SHOW_CALL, default: E },
  }),
  bookSeats: operation({
    method: "POST",
    path: "/api/shows/:show_id/bookings",
    rateLimited: true,
    summary: "Book several seats, all or none",
    tag: "Booking",
    body: GroupBookingBody,
    admission: true,
    idempotent: true,
    responses: { 200: answers.BookingsAnswer, ...BODY, ...PASS, 404: E, 409: E, 422: E, ...LIMITED, ...SHOW_CALL },
    sends: { 200: { "Seat-Map-Version": SEAT_MAP_VERSION } },
  }),
  createHold: operation({
    method: "POST",
    path: "/api/shows/:show_id/holds",
    rateLimited: true,
    summary: "Hold the seats named, or the best block of adjacent seats, for a while; all or none",
    tag: "Holds",
    body: holdBody,
    admission: true,
    idempotent: true,
    responses: { 201: answers.NewHold, ...BODY, ...PASS, 404: E, 409: E, 422: E, ...LIMITED, ...SHOW_CALL, 507: E },
    sends: { 201: { "Seat-Map-Version": SEAT_MAP_VERSION } },
  }),
  releaseHold: operation({
    method: "DELETE",
    path: "/api/holds/:hold_id",
    rateLimited: true,
    summary: "Release a hold",
    tag: "Holds",
    auth: "hold",
    responses: { 200: answers.HoldReleased, 400: E, 401: E, 403: E, 404: E, 409: E, 410: E, ...LIMITED, ...SHOW_CALL },
  }),
  confirmHold: operation({
    method: "POST",
    path: "/api/holds/:hold_id/confirm",
    rateLimited: true,
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
    sends: { 200: { "Seat-Map-Version": SEAT_MAP_VERSION } },
  }),
  extendHold: operation({
    method: "POST",
    path: "/api/holds/:hold_id/extend",
    rateLimited: true,
    summary: "Lengthen a hold, up to its maximum lifetime",
    tag: "Holds",
    auth: "hold",
    body: extendBody,
    bodyOptional: true,
    idempotent: true,
    responses: {
      200: answers.Hold,
      ...BODY,
      401: E,
      403: E,
      404: E,
      409: E,
      410: E,
      422: E,
      ...LIMITED,
      ...SHOW_CALL,
      507: E,
    },
  }),
  cancelBooking: operation({
    method: "DELETE",
    path: "/api/bookings/:booking_id",
    rateLimited: true,
    summary: "Cancel a booking with its booking token, or the admin token",
    tag: "Booking",
    auth: "booking or admin",
    responses: { 200: answers.BookingCancelled, 400: E, 401: E, 403: E, 404: E, ...LIMITED, ...SHOW_CALL, 507: E },
  }),
  putShow: operation({
    method: "PUT",
    path: "/admin/shows/:show_id",
    summary: `Create a show or change its name and layout: a seating plan or a flat seat list (body up to ${MAX_PLAN_BODY_BYTES / 1024 / 1024} MiB)`,
    tag: "Admin",
    auth: "admin",
    body: ShowLayoutBody,
    maxBodyBytes: MAX_PLAN_BODY_BYTES,
    createsShow: true,
    responses: { 200: answers.ShowWritten, 201: answers.ShowWritten, ...BODY, ...ADMIN, 409: E, ...SHOW_CALL },
  }),
  resetShow: operation({
    method: "DELETE",
    path: "/admin/shows/:show_id/bookings",
    summary: "Reset a show: cancel every booking and release every hold",
    tag: "Admin",
    auth: "admin",
    responses: { 200: answers.ShowReset, 400: E, ...ADMIN, 404: E, ...SHOW_CALL },
  }),
  resetSeat: operation({
    method: "DELETE",
    path: "/admin/shows/:show_id/seats/:seat_id/booking",
    summary: "Reset a seat: cancel its booking or release the hold that has it",
    tag: "Admin",
    auth: "admin",
    responses: { 200: answers.SeatReset, 400: E, ...ADMIN, 404: E, ...SHOW_CALL },
  }),
  blockSeats: operation({
    method: "POST",
    path: "/admin/shows/:show_id/seats/block",
    summary: "Block seats, all or none, with a reason",
    tag: "Admin",
    auth: "admin",
    body: BlockBody,
    idempotent: true,
    responses: { 200: answers.SeatsBlocked, ...BODY, ...ADMIN, 404: E, 409: E, 422: E, ...SHOW_CALL },
  }),
  unblockSeats: operation({
    method: "POST",
    path: "/admin/shows/:show_id/seats/unblock",
    summary: "Unblock seats",
    tag: "Admin",
    auth: "admin",
    body: UnblockBody,
    idempotent: true,
    responses: { 200: answers.SeatsUnblocked, ...BODY, ...ADMIN, 404: E, 422: E, ...SHOW_CALL },
  }),
  waitingRoom: operation({
    method: "GET",
    path: "/api/shows/:show_id/waiting-room",
    summary: "Whether the show's waiting room is on, and its settings",
    tag: "Queue",
    responses: { 200: answers.WaitingRoom, 400: E, ...COSTLY_READ, 404: E, ...LIMITED, ...SHOW_CALL },
    means: COSTLY_READ_MEANS,
  }),
  joinQueue: operation({
    method: "POST",
    path: "/api/shows/:show_id/queue",
    rateLimited: true,
    summary: "Join the show's waiting room: a ticket, its position and the estimated wait",
    tag: "Queue",
    responses: { 201: answers.QueueJoined, 400: E, 404: E, 409: E, ...LIMITED, ...SHOW_CALL },
    sends: { 201: { "Retry-After": "Seconds until the first poll is welcome" } },
    means: {
      409: "The show has no waiting room on: book directly",
      429: "Too many requests from this address (see Retry-After); or the address has QUEUE_TICKETS_PER_ADDRESS tickets waiting already",
      503: "The room or its shard is overloaded or unavailable (see Retry-After); the queue is full; QUEUE_SECRET is not set; the room was just turned on again (Retry-After: 1); or the shard did not answer, and the join may or may not have been made (no Retry-After then)",
    },
  }),
  queueTicket: operation({
    method: "GET",
    path: "/api/queue/:ticket_id",
    rateLimited: true,
    acts: true,
    summary: "Where a ticket stands; once admitted, its admission pass. Poll no sooner than Retry-After",
    tag: "Queue",
    auth: "ticket",
    responses: { 200: answers.QueueStatus, 400: E, 401: E, 403: E, 404: E, 410: E, ...LIMITED, ...SHOW_CALL },
    means: {
      403: "The token is not this ticket's; or a page of another site (Sec-Fetch-Site: cross-site, or a foreign Origin)",
      404: "No such ticket (or it was forgotten), or the show's waiting room is off",
      410: "The ticket left the queue, or its admission has run out: join again",
      429: "Polled too early: come back after Retry-After (also in the body as retry_after); or too many requests from this address",
      503: "The room or the ticket's shard is overloaded or unavailable (see Retry-After); QUEUE_SECRET is not set; or the room was just turned on again (Retry-After: 1)",
    },
  }),
  leaveQueue: operation({
    method: "DELETE",
    path: "/api/queue/:ticket_id",
    rateLimited: true,
    summary: "Leave the queue, or end an admitted session early: the slot goes to the next buyer",
    tag: "Queue",
    auth: "ticket",
    responses: { 200: answers.QueueLeft, 400: E, 401: E, 403: E, 404: E, 410: E, ...LIMITED, ...SHOW_CALL },
    means: {
      403: "The token is not this ticket's; or a page of another site (Sec-Fetch-Site: cross-site, or a foreign Origin)",
      404: "No such ticket (or it was forgotten), or the show's waiting room is off",
      410: "The ticket had left the queue already",
      503: "The room, the ticket's shard or the show is overloaded or unavailable (see Retry-After); or the room was just turned on again (Retry-After: 1)",
    },
  }),
  putWaitingRoom: operation({
    method: "PUT",
    path: "/admin/shows/:show_id/waiting-room",
    summary: "Turn the show's waiting room on, or change its settings",
    tag: "Admin",
    auth: "admin",
    body: WaitingRoomBody,
    responses: {
      200: answers.WaitingRoomWritten,
      201: answers.WaitingRoomWritten,
      ...BODY,
      ...ADMIN,
      404: E,
      ...SHOW_CALL,
    },
    means: { 503: "QUEUE_SECRET is not set (or shorter than 32 characters); or the room is overloaded or unavailable" },
  }),
  deleteWaitingRoom: operation({
    method: "DELETE",
    path: "/admin/shows/:show_id/waiting-room",
    summary: "Turn the show's waiting room off: bookings need no pass, and every ticket is forgotten",
    tag: "Admin",
    auth: "admin",
    responses: { 200: answers.WaitingRoomOff, 400: E, ...ADMIN, 404: E, ...SHOW_CALL },
  }),
  auditLog: operation({
    method: "GET",
    path: "/admin/shows/:show_id/log",
    summary: "The audit log of seat status changes, a page at a time",
    tag: "Admin",
    auth: "admin",
    query: AuditLogQuery,
    responses: { 200: answers.AuditPage, 400: E, ...ADMIN, ...COSTLY_READ, 404: E, ...SHOW_CALL },
    means: COSTLY_READ_MEANS,
  }),
};

export type Operations = typeof OPERATIONS;
export type OperationName = keyof Operations;
