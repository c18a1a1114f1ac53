/**
 * The API contract: real requests to every route, each answer checked against the OpenAPI
 * document the Worker serves (status documented for that operation, body valid against its
 * schema), and the copy kept in the repo checked to be the same document.
 */
import { Validator } from "@cfworker/json-schema";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import committed from "../openapi.json";
import { openApiDocument } from "../src/contract/openapi";
import { OPERATIONS } from "../src/contract/operations";
import { adminHeaders, bearer, call, newShow } from "./helpers";

interface Operation {
  responses: Record<string, { content?: { "application/json": { schema: Record<string, unknown> } } }>;
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

/** Sends a request to `template` (an OpenAPI path) and checks the answer against the document. */
async function contract(
  method: string,
  template: string,
  params: Record<string, string> = {},
  init: RequestInit = {},
): Promise<{ status: number; body: any }> {
  const path = template.replace(/\{(\w+)\}/g, (_, name: string) => params[name]!);
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

describe("every route answers as the OpenAPI document says", () => {
  it("booking, reading, holds and cancelling", async () => {
    const showId = await newShow(12);
    const s = { show_id: showId };

    expect((await contract("GET", "/healthz")).status).toBe(200);
    expect((await contract("GET", "/openapi.json")).status).toBe(200);
    expect((await contract("GET", "/api/shows")).status).toBe(200);
    expect((await contract("GET", "/api/shows/{show_id}/seats", s)).status).toBe(200);
    expect((await contract("GET", "/api/shows/{show_id}/seats", { show_id: "no-such-show" })).status).toBe(404);
    expect((await contract("GET", "/api/shows/{show_id}/seats", { show_id: "bad%20id" })).status).toBe(400);

    const booked = await contract("POST", "/api/book-seat", {}, json({ show_id: showId, seat_id: 1, user_id: "ann" }));
    expect(booked.status).toBe(200);
    expect((await contract("POST", "/api/book-seat", {}, json({ show_id: showId, seat_id: 1 }))).status).toBe(409);
    expect((await contract("POST", "/api/book-seat", {}, json({ show_id: showId, seat_id: 99 }))).status).toBe(404);
    expect((await contract("POST", "/api/book-seat", {}, json({ show_id: showId }))).status).toBe(400);
    expect((await contract("POST", "/api/book-seat", {}, { body: "x".repeat(17_000) })).status).toBe(413);
    const key = { "idempotency-key": crypto.randomUUID() };
    expect((await contract("POST", "/api/book-seat", {}, json({ show_id: showId, seat_id: 2 }, key))).status).toBe(200);
    expect((await contract("POST", "/api/book-seat", {}, json({ show_id: showId, seat_id: 3 }, key))).status).toBe(422);

    expect((await contract("POST", "/api/shows/{show_id}/bookings", s, json({ seat_ids: [4, 5] }))).status).toBe(200);
    expect((await contract("POST", "/api/shows/{show_id}/bookings", s, json({ seat_ids: [5, 6] }))).status).toBe(409);
    expect((await contract("POST", "/api/shows/{show_id}/bookings", s, json({ seat_ids: [] }))).status).toBe(400);

    const hold = await contract("POST", "/api/shows/{show_id}/holds", s, json({ seat_ids: [7, 8], user_id: "bo" }));
    expect(hold.status).toBe(201);
    const h = { hold_id: hold.body.hold_id as string };
    const holder = { headers: bearer(hold.body.hold_token) };
    expect((await contract("POST", "/api/shows/{show_id}/holds", s, json({ seat_ids: [8] }))).status).toBe(409);
    expect(
      (
        await contract("POST", "/api/holds/{hold_id}/extend", h, {
          ...holder,
          ...json({ ttl_seconds: 900 }, holder.headers),
        })
      ).status,
    ).toBe(200);
    expect((await contract("POST", "/api/holds/{hold_id}/confirm", h, { method: "POST" })).status).toBe(401);
    expect((await contract("POST", "/api/holds/{hold_id}/confirm", h, { headers: bearer("ht_wrong") })).status).toBe(
      403,
    );
    expect((await contract("POST", "/api/holds/{hold_id}/confirm", h, holder)).status).toBe(200);
    expect((await contract("POST", "/api/holds/{hold_id}/confirm", h, holder)).status).toBe(409);
    expect((await contract("DELETE", "/api/holds/{hold_id}", h, holder)).status).toBe(409);
    expect((await contract("POST", "/api/holds/{hold_id}/extend", { hold_id: "nope" }, holder)).status).toBe(400);

    const second = await contract("POST", "/api/shows/{show_id}/holds", s, json({ seat_ids: [9] }));
    const h2 = { hold_id: second.body.hold_id as string };
    expect(
      (await contract("DELETE", "/api/holds/{hold_id}", h2, { headers: bearer(second.body.hold_token) })).status,
    ).toBe(200);
    expect(
      (await contract("POST", "/api/holds/{hold_id}/confirm", h2, { headers: bearer(second.body.hold_token) })).status,
    ).toBe(410);
    expect(
      (await contract("DELETE", "/api/holds/{hold_id}", { hold_id: `${showId}.AAAAAAAAAAAAAAAAAAAAAA` }, holder))
        .status,
    ).toBe(404);

    const b = { booking_id: booked.body.booking.id as string };
    expect((await contract("DELETE", "/api/bookings/{booking_id}", b, { headers: bearer("bt_wrong") })).status).toBe(
      403,
    );
    expect((await contract("DELETE", "/api/bookings/{booking_id}", b, {})).status).toBe(401);
    expect(
      (
        await contract("DELETE", "/api/bookings/{booking_id}", b, {
          headers: bearer(booked.body.booking.booking_token),
        })
      ).status,
    ).toBe(200);
    expect((await contract("DELETE", "/api/bookings/{booking_id}", b, { headers: adminHeaders })).status).toBe(404);

    expect((await contract("GET", "/api/shows/{show_id}/live", s)).status).toBe(426);
    const live = await contract("GET", "/api/shows/{show_id}/live", s, { headers: { upgrade: "websocket" } });
    expect(live.status).toBe(101);
  });

  it("admin routes", async () => {
    const showId = `t-${crypto.randomUUID()}`;
    const s = { show_id: showId };
    const admin = (body?: unknown) => (body === undefined ? { headers: adminHeaders } : json(body, adminHeaders));

    expect(
      (await contract("PUT", "/admin/shows/{show_id}", s, { ...admin({ name: "Contract", seats: 6 }), method: "PUT" }))
        .status,
    ).toBe(201);
    expect(
      (await contract("PUT", "/admin/shows/{show_id}", s, { ...admin({ name: "Contract", seats: 8 }), method: "PUT" }))
        .status,
    ).toBe(200);
    expect((await contract("PUT", "/admin/shows/{show_id}", s, { ...admin({ name: "" }), method: "PUT" })).status).toBe(
      400,
    );
    expect(
      (await contract("PUT", "/admin/shows/{show_id}", s, { ...json({ name: "x", seats: 1 }), method: "PUT" })).status,
    ).toBe(401);
    await call("/api/book-seat/", { method: "POST", ...json({ show_id: showId, seat_id: 8 }) });
    expect(
      (await contract("PUT", "/admin/shows/{show_id}", s, { ...admin({ name: "Smaller", seats: 2 }), method: "PUT" }))
        .status,
    ).toBe(409);

    expect(
      (await contract("POST", "/admin/shows/{show_id}/seats/block", s, admin({ seat_ids: [1], reason: "desk" })))
        .status,
    ).toBe(200);
    expect(
      (await contract("POST", "/admin/shows/{show_id}/seats/block", s, admin({ seat_ids: [1], reason: "desk" })))
        .status,
    ).toBe(409);
    expect(
      (await contract("POST", "/admin/shows/{show_id}/seats/block", s, admin({ seat_ids: [77], reason: "x" }))).status,
    ).toBe(404);
    expect((await contract("POST", "/admin/shows/{show_id}/seats/unblock", s, admin({ seat_ids: [1] }))).status).toBe(
      200,
    );
    expect((await contract("POST", "/admin/shows/{show_id}/seats/unblock", s, admin({}))).status).toBe(400);

    const seat = { ...s, seat_id: "8" };
    expect((await contract("DELETE", "/admin/shows/{show_id}/seats/{seat_id}/booking", seat, admin())).status).toBe(
      200,
    );
    expect(
      (await contract("DELETE", "/admin/shows/{show_id}/seats/{seat_id}/booking", { ...s, seat_id: "99" }, admin()))
        .status,
    ).toBe(404);
    expect((await contract("DELETE", "/admin/shows/{show_id}/bookings", s, admin())).status).toBe(200);
    expect((await contract("DELETE", "/admin/shows/{show_id}/bookings", { show_id: "nobody" }, admin())).status).toBe(
      404,
    );
    expect((await contract("GET", "/admin/shows/{show_id}/log", s, admin())).status).toBe(200);
    expect((await contract("GET", "/admin/shows/{show_id}/log", s, {})).status).toBe(401);
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
