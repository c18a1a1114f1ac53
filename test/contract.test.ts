/**
 * The API contract: real requests to every route, each answer checked against the OpenAPI
 * document the Worker serves (status documented for that operation, body valid against its
 * schema), and the copy kept in the repo checked to be the same document.
 */
import { Validator } from "@cfworker/json-schema";
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import committed from "../openapi.json";
import { openApiDocument } from "../src/contract/openapi";
import { OPERATIONS } from "../src/contract/operations";
import type { QueueShard } from "../src/queue/shard";
import { adminHeaders, bearer, call, newShow } from "./helpers";

interface Operation {
  responses: Record<
    string,
    {
      headers?: Record<string, { required?: boolean }>;
      content?: { "application/json": { schema: Record<string, unknown> } };
    }
  >;
}
type Document = { paths: Record<string, Record<string, Operation>>; components: unknown };

const DOC_ID = "https://contract.test/openapi.json";
let doc: Document;
const covered = new Set<string>();

beforeAll(async () => {
  const response = await call("/openapi.json");
  expect(response.status).toBe(200);
  doc = await response.json<Document>();
});

/**
 * Sends a request to `template` (an OpenAPI path, with `query` appended) and checks the answer
 * against the document.
 */
async function contract(
  method: string,
  template: string,
  params: Record<string, string> = {},
  init: RequestInit = {},
  query = "",
): Promise<{ status: number; body: any }> {
  const path = template.replace(/\{(\w+)\}/g, (_, name: string) => params[name]!) + query;
  const response = await call(path, { ...init, method });
  const operation = doc.paths[template]?.[method.toLowerCase()];
  expect(operation, `${method} ${template} is not in the document`).toBeDefined();
  const documented = operation!.responses[String(response.status)];
  const text = await response.text();
  expect(
    documented,
    `${method} ${template} answered ${response.status}, which the document does not list: ${text}`,
  ).toBeDefined();
  covered.add(`${method} ${template}`);
  for (const [name, header] of Object.entries(documented!.headers ?? {})) {
    if (header.required)
      expect(response.headers.get(name), `${method} ${template} ${response.status}: ${name}`).not.toBeNull();
  }
  const schema = documented!.content?.["application/json"]?.schema;
  if (!schema) return { status: response.status, body: text };
  const body = JSON.parse(text);
  const validator = new Validator(
    { $ref: `${DOC_ID}${String(schema.$ref ?? "")}`, ...(schema.$ref ? {} : schema) },
    "2020-12",
    false,
  );
  validator.addSchema({ $id: DOC_ID, ...doc } as never);
  const result = validator.validate(body);
  expect(result.errors, `${method} ${template} ${response.status}: ${text}`).toEqual([]);
  return { status: response.status, body };
}

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  body: JSON.stringify(body),
  headers: { "content-type": "application/json", ...headers },
});

const admin = (body?: unknown) => (body === undefined ? { headers: adminHeaders } : json(body, adminHeaders));

/** A waiting room that opens in a year: joining works, nobody is admitted, and no alarm fires. */
const FAR_ROOM = {
  opens_at: new Date(Date.now() + 365 * 86_400_000).toISOString(),
  admit_per_minute: 60,
  session_minutes: 10,
};

async function turnRoomOn(showId: string): Promise<void> {
  const response = await call(`/admin/shows/${showId}/waiting-room`, { method: "PUT", ...admin(FAR_ROOM) });
  expect(response.status).toBe(201);
}

/** A ticket made outside the contract checks. */
async function newTicket(): Promise<{ ticket_id: string; ticket_token: string }> {
  const showId = await newShow(3);
  await turnRoomOn(showId);
  const response = await call(`/api/shows/${showId}/queue`, { method: "POST" });
  expect(response.status).toBe(201);
  return response.json();
}

/** Lets a ticket poll again at once: its shard's clock moves on past the Retry-After it gave. */
async function movePastRetry(ticketId: string): Promise<void> {
  const [showId, shard] = ticketId.split(".");
  await runInDurableObject(env.QUEUE_SHARD.getByName(`${showId}#${shard}`), (instance: QueueShard) => {
    instance.clock = () => Date.now() + 366 * 86_400_000;
  });
}

/** A hold made outside the contract checks, for the operations that act on one. */
async function newHold(showId: string, seatIds: number[]) {
  const response = await call(`/api/shows/${showId}/holds`, { method: "POST", ...json({ seat_ids: seatIds }) });
  expect(response.status).toBe(201);
  const body = await response.json<{ hold_id: string; hold_token: string }>();
  return { params: { hold_id: body.hold_id }, holder: { headers: bearer(body.hold_token) } };
}

/** A booking made outside the contract checks. */
async function newBooking(showId: string, seatId: number) {
  const response = await call("/api/book-seat/", { method: "POST", ...json({ show_id: showId, seat_id: seatId }) });
  expect(response.status).toBe(200);
  const { booking } = await response.json<{ booking: { id: string; booking_token: string } }>();
  return { params: { booking_id: booking.id }, token: booking.booking_token };
}

// One `it` per operation, so that the first broken operation does not hide the others.
describe("every operation answers as the OpenAPI document says", () => {
  it("health: GET /healthz", async () => {
    expect((await contract("GET", "/healthz")).status).toBe(200);
    expect((await contract("GET", "/healthz", {}, {}, `?${"x".repeat(2100)}`)).status).toBe(414);
  });

  it("openApiDocument: GET /openapi.json", async () => {
    expect((await contract("GET", "/openapi.json")).status).toBe(200);
  });

  it("listShows: GET /api/shows", async () => {
    await newShow(2);
    expect((await contract("GET", "/api/shows")).status).toBe(200);
  });

  it("seatMap: GET /api/shows/{show_id}/seats", async () => {
    const s = { show_id: await newShow(3) };
    expect((await contract("GET", "/api/shows/{show_id}/seats", s)).status).toBe(200);
    const current = { headers: { "if-none-match": '"1.0"' } };
    expect((await contract("GET", "/api/shows/{show_id}/seats", s, current)).status).toBe(304);
    expect((await contract("GET", "/api/shows/{show_id}/seats", { show_id: "no-such-show" })).status).toBe(404);
    expect((await contract("GET", "/api/shows/{show_id}/seats", { show_id: "bad%20id" })).status).toBe(400);
  });

  it("seatStatuses: GET /api/shows/{show_id}/statuses", async () => {
    const s = { show_id: await newShow(3) };
    const answer = await contract("GET", "/api/shows/{show_id}/statuses", s);
    expect(answer.body).toMatchObject({ layout: 1, version: 0, statuses: "aaa" });
    const current = { headers: { "if-none-match": '"1.0"' } };
    expect((await contract("GET", "/api/shows/{show_id}/statuses", s, current)).status).toBe(304);
    expect((await contract("GET", "/api/shows/{show_id}/statuses", { show_id: "no-such-show" })).status).toBe(404);
    expect((await contract("GET", "/api/shows/{show_id}/statuses", { show_id: "bad%20id" })).status).toBe(400);
  });

  it("showPlan: GET /api/shows/{show_id}/plan", async () => {
    const s = { show_id: await newShow(3) };
    const answer = await contract("GET", "/api/shows/{show_id}/plan", s);
    expect(answer.body.plan.zones[0].rows[0].seats.map((seat: { seat_guid: string }) => seat.seat_guid)).toEqual([
      "1",
      "2",
      "3",
    ]);
    const current = { headers: { "if-none-match": '"1"' } };
    expect((await contract("GET", "/api/shows/{show_id}/plan", s, current)).status).toBe(304);
    expect((await contract("GET", "/api/shows/{show_id}/plan", { show_id: "no-such-show" })).status).toBe(404);
    expect((await contract("GET", "/api/shows/{show_id}/plan", { show_id: "bad%20id" })).status).toBe(400);
  });

  it("liveSeatMap: GET /api/shows/{show_id}/live", async () => {
    const s = { show_id: await newShow(3) };
    const upgrade = { headers: { upgrade: "websocket" } };
    expect((await contract("GET", "/api/shows/{show_id}/live", s)).status).toBe(426);
    expect((await contract("GET", "/api/shows/{show_id}/live", { show_id: "nobody" }, upgrade)).status).toBe(404);
    expect((await contract("GET", "/api/shows/{show_id}/live", s, upgrade, "?since=abc")).status).toBe(400);
    expect((await contract("GET", "/api/shows/{show_id}/live", s, upgrade)).status).toBe(101);
  });

  it("bookSeat: POST /api/book-seat", async () => {
    const showId = await newShow(12);
    const book = (body: unknown, headers?: Record<string, string>) =>
      contract("POST", "/api/book-seat", {}, json(body, headers));
    expect((await book({ show_id: showId, seat_id: 1, user_id: "ann" })).status).toBe(200);
    expect((await book({ show_id: showId, seat_id: 1 })).status).toBe(409);
    expect((await book({ show_id: showId, seat_id: 99 })).status).toBe(404);
    expect((await book({ show_id: showId })).status).toBe(400);
    const roomed = await newShow(3);
    await turnRoomOn(roomed);
    expect((await book({ show_id: roomed, seat_id: 1 })).status).toBe(403);
    expect((await contract("POST", "/api/book-seat", {}, { body: "x".repeat(17_000) })).status).toBe(413);
    const key = { "idempotency-key": crypto.randomUUID() };
    expect((await book({ show_id: showId, seat_id: 2 }, key)).status).toBe(200);
    expect((await book({ show_id: showId, seat_id: 3 }, key)).status).toBe(422);
  });

  it("bookSeats: POST /api/shows/{show_id}/bookings", async () => {
    const s = { show_id: await newShow(12) };
    const book = (body: unknown) => contract("POST", "/api/shows/{show_id}/bookings", s, json(body));
    expect((await book({ seat_ids: [4, 5] })).status).toBe(200);
    expect((await book({ seat_ids: [5, 6] })).status).toBe(409);
    expect((await book({ seat_ids: [] })).status).toBe(400);
    expect((await book({ seat_ids: [40] })).status).toBe(404);
  });

  it("createHold: POST /api/shows/{show_id}/holds", async () => {
    const s = { show_id: await newShow(12) };
    const hold = (body: unknown) => contract("POST", "/api/shows/{show_id}/holds", s, json(body));
    expect((await hold({ seat_ids: [7, 8], user_id: "bo" })).status).toBe(201);
    expect((await hold({ seat_ids: [8] })).status).toBe(409);
    expect((await hold({ seat_ids: [8], ttl_seconds: 1 })).status).toBe(400);
    const best = await hold({ best_available: { count: 2, category: "General" } });
    expect(best.status).toBe(201);
    expect(best.body.seats.map((seat: { label: string }) => seat.label)).toHaveLength(2);
    expect((await hold({ best_available: { count: 2, category: "Nowhere" } })).status).toBe(404);
    expect((await hold({ best_available: { count: 9 } })).status).toBe(409);
    expect((await hold({ best_available: { count: 2 }, seat_ids: [1] })).status).toBe(400);
  });

  it("extendHold: POST /api/holds/{hold_id}/extend", async () => {
    const showId = await newShow(12);
    const { params, holder } = await newHold(showId, [7]);
    const extend = (p: Record<string, string>, init: RequestInit) =>
      contract("POST", "/api/holds/{hold_id}/extend", p, init);
    expect((await extend(params, json({ ttl_seconds: 900 }, holder.headers))).status).toBe(200);
    expect((await extend(params, {})).status).toBe(401);
    expect((await extend(params, { headers: bearer("ht_wrong") })).status).toBe(403);
    expect((await extend({ hold_id: "nope" }, holder)).status).toBe(400);
  });

  it("confirmHold: POST /api/holds/{hold_id}/confirm", async () => {
    const showId = await newShow(12);
    const { params, holder } = await newHold(showId, [7, 8]);
    const confirm = (p: Record<string, string>, init: RequestInit) =>
      contract("POST", "/api/holds/{hold_id}/confirm", p, init);
    expect((await confirm(params, {})).status).toBe(401);
    expect((await confirm(params, { headers: bearer("ht_wrong") })).status).toBe(403);
    expect((await confirm(params, holder)).status).toBe(200);
    expect((await confirm(params, holder)).status).toBe(409);
    const released = await newHold(showId, [9]);
    await call(`/api/holds/${released.params.hold_id}`, { method: "DELETE", ...released.holder });
    expect((await confirm(released.params, released.holder)).status).toBe(410);
    expect((await confirm({ hold_id: `${showId}.AAAAAAAAAAAAAAAAAAAAAA` }, holder)).status).toBe(404);
  });

  it("releaseHold: DELETE /api/holds/{hold_id}", async () => {
    const showId = await newShow(12);
    const { params, holder } = await newHold(showId, [9]);
    const release = (p: Record<string, string>, init: RequestInit) =>
      contract("DELETE", "/api/holds/{hold_id}", p, init);
    expect((await release(params, holder)).status).toBe(200);
    expect((await release(params, holder)).status).toBe(410);
    expect((await release({ hold_id: `${showId}.AAAAAAAAAAAAAAAAAAAAAA` }, holder)).status).toBe(404);
  });

  it("cancelBooking: DELETE /api/bookings/{booking_id}", async () => {
    const showId = await newShow(12);
    const { params, token } = await newBooking(showId, 1);
    const cancel = (init: RequestInit) => contract("DELETE", "/api/bookings/{booking_id}", params, init);
    expect((await cancel({ headers: bearer("bt_wrong") })).status).toBe(403);
    expect((await cancel({})).status).toBe(401);
    expect((await cancel({ headers: bearer(token) })).status).toBe(200);
    expect((await cancel({ headers: adminHeaders })).status).toBe(404);
  });

  it("putShow: PUT /admin/shows/{show_id}", async () => {
    const s = { show_id: `t-${crypto.randomUUID()}` };
    const put = (init: RequestInit) => contract("PUT", "/admin/shows/{show_id}", s, { ...init, method: "PUT" });
    expect((await put(admin({ name: "Contract", seats: 6 }))).status).toBe(201);
    expect((await put(admin({ name: "Contract", seats: 8 }))).status).toBe(200);
    expect((await put(admin({ name: "" }))).status).toBe(400);
    expect((await put(json({ name: "x", seats: 1 }))).status).toBe(401);
    await newBooking(s.show_id, 8);
    expect((await put(admin({ name: "Smaller", seats: 2 }))).status).toBe(409);
    const plan = { name: "Hall", categories: [{ name: "A" }], zones: [] as unknown[] };
    plan.zones.push({ position: { x: 0, y: 0 }, rows: [{ row_number: "1", seats: [] as unknown[] }] });
    const seat = (id: string, x: number) => ({ seat_guid: id, seat_number: id, position: { x, y: 0 }, category: "A" });
    (plan.zones[0] as { rows: { seats: unknown[] }[] }).rows[0]!.seats.push(seat("8", 0), seat("p2", 10));
    expect((await put(admin({ name: "Planned", plan }))).status).toBe(200);
    const bad = structuredClone(plan);
    (bad.zones[0] as { rows: { seats: { category: string }[] }[] }).rows[0]!.seats[1]!.category = "Z";
    expect((await put(admin({ name: "Planned", plan: bad }))).status).toBe(400);
    expect((await put({ ...admin(), body: "x".repeat(16 * 1024 * 1024 + 1) })).status).toBe(413);
  });

  it("blockSeats: POST /admin/shows/{show_id}/seats/block", async () => {
    const s = { show_id: await newShow(8) };
    const block = (body: unknown) => contract("POST", "/admin/shows/{show_id}/seats/block", s, admin(body));
    expect((await block({ seat_ids: [1], reason: "desk" })).status).toBe(200);
    expect((await block({ seat_ids: [1], reason: "desk" })).status).toBe(409);
    expect((await block({ seat_ids: [77], reason: "x" })).status).toBe(404);
    expect((await block({ seat_ids: [2] })).status).toBe(400);
  });

  it("unblockSeats: POST /admin/shows/{show_id}/seats/unblock", async () => {
    const s = { show_id: await newShow(8) };
    const unblock = (body: unknown) => contract("POST", "/admin/shows/{show_id}/seats/unblock", s, admin(body));
    expect((await unblock({ seat_ids: [1] })).status).toBe(200);
    expect((await unblock({})).status).toBe(400);
    expect((await unblock({ seat_ids: [99] })).status).toBe(404);
  });

  it("resetSeat: DELETE /admin/shows/{show_id}/seats/{seat_id}/booking", async () => {
    const showId = await newShow(8);
    await newBooking(showId, 8);
    const reset = (seatId: string) =>
      contract(
        "DELETE",
        "/admin/shows/{show_id}/seats/{seat_id}/booking",
        { show_id: showId, seat_id: seatId },
        admin(),
      );
    expect((await reset("8")).status).toBe(200);
    expect((await reset("99")).status).toBe(404);
  });

  it("resetShow: DELETE /admin/shows/{show_id}/bookings", async () => {
    const s = { show_id: await newShow(8) };
    expect((await contract("DELETE", "/admin/shows/{show_id}/bookings", s, admin())).status).toBe(200);
    expect((await contract("DELETE", "/admin/shows/{show_id}/bookings", { show_id: "nobody" }, admin())).status).toBe(
      404,
    );
  });

  it("auditLog: GET /admin/shows/{show_id}/log", async () => {
    const s = { show_id: await newShow(8) };
    await newBooking(s.show_id, 1);
    expect((await contract("GET", "/admin/shows/{show_id}/log", s, admin())).status).toBe(200);
    expect((await contract("GET", "/admin/shows/{show_id}/log", s, {})).status).toBe(401);
    expect((await contract("GET", "/admin/shows/{show_id}/log", s, admin(), "?limit=0")).status).toBe(400);
  });

  it("waitingRoom: GET /api/shows/{show_id}/waiting-room", async () => {
    const s = { show_id: await newShow(3) };
    const answer = await contract("GET", "/api/shows/{show_id}/waiting-room", s);
    expect(answer.body).toEqual({ show_id: s.show_id, on: false });
    expect((await contract("GET", "/api/shows/{show_id}/waiting-room", { show_id: "nobody" })).status).toBe(404);
    expect((await contract("GET", "/api/shows/{show_id}/waiting-room", { show_id: "bad%20id" })).status).toBe(400);
  });

  it("putWaitingRoom: PUT /admin/shows/{show_id}/waiting-room", async () => {
    const s = { show_id: await newShow(3) };
    const put = (init: RequestInit) =>
      contract("PUT", "/admin/shows/{show_id}/waiting-room", s, { ...init, method: "PUT" });
    expect((await put(admin(FAR_ROOM))).status).toBe(201);
    expect((await put(admin({ ...FAR_ROOM, admit_per_minute: 30 }))).status).toBe(200);
    expect((await put(admin({ ...FAR_ROOM, session_minutes: 0 }))).status).toBe(400);
    expect((await put(json(FAR_ROOM))).status).toBe(401);
    const unknown = { show_id: "nobody" };
    expect((await contract("PUT", "/admin/shows/{show_id}/waiting-room", unknown, admin(FAR_ROOM))).status).toBe(404);
  });

  it("deleteWaitingRoom: DELETE /admin/shows/{show_id}/waiting-room", async () => {
    const s = { show_id: await newShow(3) };
    const remove = (params: Record<string, string>, init: RequestInit = admin()) =>
      contract("DELETE", "/admin/shows/{show_id}/waiting-room", params, { ...init, method: "DELETE" });
    expect((await remove(s)).status).toBe(200);
    expect((await remove(s, {})).status).toBe(401);
    expect((await remove({ show_id: "nobody" })).status).toBe(404);
    expect((await remove({ show_id: "bad%20id" })).status).toBe(400);
  });

  it("joinQueue: POST /api/shows/{show_id}/queue", async () => {
    const s = { show_id: await newShow(3) };
    const join = (params: Record<string, string>) =>
      contract("POST", "/api/shows/{show_id}/queue", params, { method: "POST" });
    expect((await join(s)).status).toBe(409);
    await turnRoomOn(s.show_id);
    expect((await join(s)).status).toBe(201);
    expect((await join({ show_id: "nobody" })).status).toBe(404);
    expect((await join({ show_id: "bad%20id" })).status).toBe(400);
  });

  it("queueTicket: GET /api/queue/{ticket_id}", async () => {
    const ticket = await newTicket();
    const t = { ticket_id: ticket.ticket_id };
    const read = (params: Record<string, string>, headers: Record<string, string>) =>
      contract("GET", "/api/queue/{ticket_id}", params, { headers });
    expect((await read(t, bearer(ticket.ticket_token))).status).toBe(429);
    await movePastRetry(ticket.ticket_id);
    expect((await read(t, bearer(ticket.ticket_token))).status).toBe(200);
    expect((await read(t, {})).status).toBe(401);
    expect((await read(t, bearer("qt_not-this-one"))).status).toBe(403);
    expect((await read({ ticket_id: `${ticket.ticket_id.slice(0, -4)}AAAA` }, bearer("x"))).status).toBe(404);
    expect((await read({ ticket_id: "nope" }, bearer("x"))).status).toBe(400);
    await call(`/api/queue/${ticket.ticket_id}`, { method: "DELETE", headers: bearer(ticket.ticket_token) });
    expect((await read(t, bearer(ticket.ticket_token))).status).toBe(410);
  });

  it("leaveQueue: DELETE /api/queue/{ticket_id}", async () => {
    const ticket = await newTicket();
    const t = { ticket_id: ticket.ticket_id };
    const leave = (params: Record<string, string>, headers: Record<string, string>) =>
      contract("DELETE", "/api/queue/{ticket_id}", params, { method: "DELETE", headers });
    expect((await leave(t, {})).status).toBe(401);
    expect((await leave(t, bearer("qt_not-this-one"))).status).toBe(403);
    expect((await leave(t, bearer(ticket.ticket_token))).status).toBe(200);
    expect((await leave(t, bearer(ticket.ticket_token))).status).toBe(410);
    expect((await leave({ ticket_id: `${ticket.ticket_id.slice(0, -4)}AAAA` }, bearer("x"))).status).toBe(404);
    expect((await leave({ ticket_id: "nope" }, bearer("x"))).status).toBe(400);
  });
});

afterAll(() => {
  // Every operation in the document was exercised at least once.
  const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
  );
  expect(operations.filter((operation) => !covered.has(operation))).toEqual([]);
});

describe("openapi.json in the repository", () => {
  it("is the document the Worker serves (regenerate with npm run openapi)", () => {
    expect(committed).toEqual(JSON.parse(JSON.stringify(openApiDocument(env))));
  });

  it("lists every route the router serves", () => {
    const documented = Object.keys(committed.paths).sort();
    expect(documented).toEqual(
      [...new Set(Object.values(OPERATIONS).map((route) => route.path.replace(/:(\w+)/g, "{$1}")))].sort(),
    );
  });
});
