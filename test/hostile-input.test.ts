/**
 * Property-based tests: hostile bodies, content types, path parameters and query strings
 * thrown at every route. Every answer must be a 4xx JSON error with a message: never a 500,
 * never a stack trace, and never a change to the show under attack.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { ShowLayoutBody, WaitingRoomBody } from "../src/contract/requests";
import { adminHeaders, call, querySql } from "./helpers";

/** The show under attack. Its seat ids are unguessable, so no random input can name one. */
const victim = `victim-${crypto.randomUUID()}`;
const victimSeats = Array.from({ length: 5 }, () => `s${crypto.randomUUID().replaceAll("-", "").slice(0, 30)}`);

beforeAll(async () => {
  const response = await call(`/admin/shows/${victim}`, {
    method: "PUT",
    headers: adminHeaders,
    body: JSON.stringify({ name: "Victim", seats: victimSeats }),
  });
  expect(response.status).toBe(201);
});

const weirdStrings = fc.constantFrom(
  "",
  " ",
  "\u0000",
  "😀",
  "Ω".repeat(70),
  "x".repeat(65),
  "__proto__",
  "constructor",
  "prototype",
  "NaN",
  "Infinity",
  "<script>alert(1)</script>",
  "'; DROP TABLE bookings; --",
  "\ud800",
);
const weirdNumbers = fc.constantFrom(0, -1, -0, 1.5, 2 ** 53, 2 ** 64, 1e308, -1e308, Number.MIN_VALUE);

const scalar = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: false }),
  weirdNumbers,
  fc.string({ maxLength: 80 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  weirdStrings,
  fc.boolean(),
  fc.constant(null),
);

const { value: hostileValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalar,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom("__proto__", "constructor", "seat_id", "show_id")),
      tie("value"),
      { maxKeys: 4 },
    ),
  ),
}));

/** An object with the fields a route reads, each given a hostile value (or left out). */
const hostileObject = fc.record(
  {
    show_id: hostileValue,
    seat_id: hostileValue,
    seat_ids: fc.oneof(hostileValue, fc.array(hostileValue, { maxLength: 5 })),
    user_id: hostileValue,
    ttl_seconds: fc.oneof(hostileValue, weirdNumbers),
    reason: hostileValue,
    name: hostileValue,
    seats: fc.oneof(hostileValue, weirdNumbers),
  },
  { requiredKeys: [] },
);

const nested = (open: string, close: string, inner = "1") =>
  fc.integer({ min: 1, max: 4000 }).map((depth) => open.repeat(depth) + inner + close.repeat(depth));

const hostileBody = fc.oneof(
  hostileObject.map((value) => JSON.stringify(value)),
  hostileValue.map((value) => JSON.stringify(value) ?? ""),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 64 }),
  nested("[", "]", ""),
  nested('{"seat_ids":', "}"),
  fc.constantFrom(
    '{"show_id": NaN, "seat_id": Infinity}',
    '{"__proto__": {"seat_id": 1}, "constructor": {"prototype": {"admin": true}}, "show_id": "x", "seat_id": 1}',
    `{"seat_ids": ${JSON.stringify(["x", "x"])}}`,
    "x".repeat(17 * 1024),
    JSON.stringify({ seat_ids: Array.from({ length: 101 }, (_, i) => i + 1) }),
    "\uFEFF{}",
  ),
);

const contentType = fc.constantFrom(
  undefined,
  "application/json",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/json; charset=utf-16",
  "image/png",
);

/** Path parameters: random, percent-encoded, and a few classic troublemakers. */
const pathParam = fc.oneof(
  fc.string({ maxLength: 80 }).map(encodeURIComponent),
  fc.string({ unit: "grapheme", maxLength: 10 }).map(encodeURIComponent),
  fc.constantFrom(
    "%00",
    "%2F",
    "..",
    "%2E%2E",
    "%E0%A4%A",
    "x".repeat(300),
    "%F0%9F%98%80",
    "__proto__",
    "constructor",
    "1.2",
    "-1",
    "0",
    "a.b",
    `${victim}.AAAAAAAAAAAAAAAAAAAAAA`,
    "%20",
    "x%0Ay",
  ),
);

interface Attack {
  method: string;
  path: string;
  body?: string | Uint8Array;
  headers: Record<string, string>;
}

async function expectRefused(attack: Attack): Promise<void> {
  const response = await call(attack.path, {
    method: attack.method,
    headers: attack.headers,
    body: attack.method === "GET" ? undefined : attack.body,
  });
  const text = await response.text();
  const where = `${attack.method} ${attack.path} → ${response.status} ${text.slice(0, 200)}`;
  expect(response.status, where).toBeGreaterThanOrEqual(400);
  expect(response.status, where).toBeLessThan(500);
  expect(response.headers.get("content-type"), where).toBe("application/json");
  const body = JSON.parse(text) as { error?: unknown };
  expect(typeof body.error === "string" && body.error.length > 0, where).toBe(true);
  expect(text, where).not.toMatch(/\n\s+at |Error: |SQLITE/);
}

/** Sometimes an Idempotency-Key, valid or not, rides along: the fingerprint must cope with any body. */
const idempotencyKey = fc.option(
  fc.oneof(
    fc.uuid(),
    fc.string({ minLength: 1, maxLength: 300 }).filter((k) => /^[\x20-\x7e]+$/.test(k)),
  ),
  { nil: undefined },
);

const withType = (type: string | undefined, key?: string) => ({
  ...(type === undefined ? {} : { "content-type": type }),
  ...(key === undefined ? {} : { "idempotency-key": key }),
});

const RUNS = { numRuns: 120 };

describe("hostile input gets a 4xx JSON error, never a 500 and never a change", () => {
  it("POST /api/book-seat/", async () => {
    await fc.assert(
      fc.asyncProperty(hostileBody, contentType, idempotencyKey, async (body, type, key) =>
        expectRefused({ method: "POST", path: "/api/book-seat/", body, headers: withType(type, key) }),
      ),
      RUNS,
    );
  });

  it("POST /api/shows/:show_id/bookings and /holds", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constant(victim), pathParam),
        fc.constantFrom("bookings", "holds"),
        hostileBody,
        contentType,
        idempotencyKey,
        async (show, route, body, type, key) =>
          expectRefused({ method: "POST", path: `/api/shows/${show}/${route}`, body, headers: withType(type, key) }),
      ),
      RUNS,
    );
  });

  it("hold and booking routes, with odd ids and tokens", async () => {
    await fc.assert(
      fc.asyncProperty(
        pathParam,
        fc.constantFrom(
          ["POST", "/api/holds/{id}/confirm"],
          ["POST", "/api/holds/{id}/extend"],
          ["DELETE", "/api/holds/{id}"],
          ["DELETE", "/api/bookings/{id}"],
          ["GET", "/api/queue/{id}"],
          ["DELETE", "/api/queue/{id}"],
          ["POST", "/api/shows/{id}/queue"],
        ),
        fc.oneof(
          fc.constant(undefined),
          fc.string({ maxLength: 60 }).filter((t) => !/[\r\n]/.test(t) && /^[\x20-\x7e]*$/.test(t)),
        ),
        hostileBody,
        async (id, [method, template], token, body) =>
          expectRefused({
            method: method!,
            path: template!.replace("{id}", id),
            body,
            headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
          }),
      ),
      RUNS,
    );
  });

  it("reading routes with odd show ids and query strings", async () => {
    await fc.assert(
      fc.asyncProperty(
        pathParam.filter((p) => p !== victim),
        fc.constantFrom("seats", "live", "statuses", "plan", "waiting-room"),
        fc.string({ maxLength: 40 }).map(encodeURIComponent),
        fc.boolean(),
        async (show, route, query, upgrade) =>
          expectRefused({
            method: "GET",
            path: `/api/shows/${show}/${route}?since=${query}&layout=${query}&category=${query}&zone=${query}`,
            headers: upgrade ? { upgrade: "websocket" } : {},
          }),
      ),
      RUNS,
    );
  });

  it("admin routes, with a valid token and hostile input", async () => {
    const invalidLayout = hostileBody.filter((body) => {
      try {
        return !ShowLayoutBody.safeParse(JSON.parse(typeof body === "string" ? body : "")).success;
      } catch {
        return true;
      }
    });
    const invalidRoom = hostileBody.filter((body) => {
      try {
        return !WaitingRoomBody.safeParse(JSON.parse(typeof body === "string" ? body : "")).success;
      } catch {
        return true;
      }
    });
    await fc.assert(
      fc.asyncProperty(
        pathParam,
        fc.oneof(
          invalidLayout.map((body) => ["PUT", "/admin/shows/{p}", body] as const),
          hostileBody.map((body) => ["POST", `/admin/shows/${victim}/seats/block`, body] as const),
          hostileBody.map((body) => ["POST", `/admin/shows/${victim}/seats/unblock`, body] as const),
          fc.constant(["DELETE", "/admin/shows/{p}/bookings", ""] as const),
          fc.constant(["DELETE", `/admin/shows/${victim}/seats/{p}/booking`, ""] as const),
          fc.constant(["GET", "/admin/shows/{p}/log", ""] as const),
          invalidRoom.map((body) => ["PUT", "/admin/shows/{p}/waiting-room", body] as const),
          invalidRoom.map((body) => ["PUT", `/admin/shows/${victim}/waiting-room`, body] as const),
          fc.constant(["DELETE", "/admin/shows/{p}/waiting-room", ""] as const),
        ),
        fc.string({ maxLength: 30 }).map(encodeURIComponent),
        async (p, [method, template, body], query) =>
          expectRefused({
            method,
            path: `${template.replace("{p}", p)}?after=${query}&limit=${query}`,
            body,
            headers: { authorization: adminHeaders.authorization },
          }),
      ),
      RUNS,
    );
  });

  it("left the show under attack exactly as it was", async () => {
    const counts = await querySql(
      victim,
      `SELECT (SELECT COUNT(*) FROM bookings) AS bookings, (SELECT COUNT(*) FROM holds) AS holds,
              (SELECT COUNT(*) FROM blocks) AS blocks, (SELECT COUNT(*) FROM audit_log) AS changes,
              (SELECT COUNT(*) FROM seats) AS seats`,
    );
    expect(counts).toEqual([{ bookings: 0, holds: 0, blocks: 0, changes: 0, seats: 5 }]);
    const room = await call(`/api/shows/${victim}/waiting-room`);
    expect(await room.json()).toEqual({ show_id: victim, on: false });
  });
});
