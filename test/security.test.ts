import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import { ADMIN_TOKEN, adminHeaders, BASE, bearer, call, holdSeats, newShow, post, storedBookings } from "./helpers";

afterEach(() => vi.restoreAllMocks());

/** Sends a request through the Worker with some of its environment replaced. */
function withEnv(overrides: Partial<Env>, path: string, init: RequestInit = {}): Promise<Response> {
  const request = new Request(`${BASE}${path}`, init) as Request<unknown, IncomingRequestCfProperties>;
  return worker.fetch(request, { ...env, ...overrides }, createExecutionContext());
}

describe("tokens in the URL", () => {
  it.each(["token", "access_token", "admin_token"])(
    "an admin request with ?%s= gets 401, even with a good header",
    async (name) => {
      const showId = await newShow(2);
      const response = await call(`/admin/shows/${showId}/log?${name}=${ADMIN_TOKEN}`, { headers: adminHeaders });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: "Send tokens in the Authorization header, never in the URL" });
    },
  );

  it("a hold token in the URL gets 401 and confirms nothing", async () => {
    const showId = await newShow(2);
    const hold = await holdSeats(showId, [1]);
    const response = await call(`/api/holds/${hold.hold_id}/confirm?hold_token=${hold.hold_token}`, {
      method: "POST",
      headers: bearer(hold.hold_token),
    });
    expect(response.status).toBe(401);
    expect(await storedBookings(showId)).toEqual([]);
  });
});

describe("rate limiting", () => {
  const book = (overrides: Partial<Env>, ip: string, showId: string, seat: number) =>
    withEnv(overrides, "/api/book-seat/", {
      method: "POST",
      headers: { "cf-connecting-ip": ip },
      body: JSON.stringify({ show_id: showId, seat_id: seat }),
    });

  /** A limiter that lets each key through `limit` times: deterministic, unlike a clock window. */
  function countingLimiter(limit: number) {
    const seen = new Map<string, number>();
    return {
      keys: seen,
      async limit({ key }: { key: string }) {
        seen.set(key, (seen.get(key) ?? 0) + 1);
        return { success: seen.get(key)! <= limit };
      },
    };
  }

  it("answers 429 with Retry-After past the limit, per client address, and books nothing then", async () => {
    const showId = await newShow(10);
    const limiter = countingLimiter(3);
    const on = { RATE_LIMITING: "on", BOOKING_RATE_LIMITER: limiter as unknown as RateLimit };
    const statuses = [];
    for (let seat = 1; seat <= 4; seat++) statuses.push((await book(on, "203.0.113.5", showId, seat)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await book(on, "203.0.113.5", showId, 5);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("10");
    expect(await limited.json()).toEqual({ error: "Too many requests from this address; slow down and retry later" });
    expect(await storedBookings(showId)).toHaveLength(3);
    // Another address has its own allowance.
    expect((await book(on, "198.51.100.7", showId, 6)).status).toBe(200);
    expect([...limiter.keys.keys()]).toEqual(["203.0.113.5", "198.51.100.7"]);
  });

  it("uses the Workers Rate Limiting binding from wrangler.toml: a burst past 60 per 10 s is cut off", async () => {
    const showId = await newShow(140);
    const ip = `203.0.113.${100 + Math.floor(Math.random() * 100)}`;
    const statuses: number[] = [];
    // Two windows at most can pass during the burst, so at most 120 requests get through.
    for (let seat = 1; seat <= 130; seat++)
      statuses.push((await book({ RATE_LIMITING: "on" }, ip, showId, seat)).status);
    const limited = statuses.filter((status) => status === 429).length;
    expect(limited).toBeGreaterThanOrEqual(10);
    expect(statuses.filter((status) => status === 200)).toHaveLength(130 - limited);
    expect(await storedBookings(showId)).toHaveLength(130 - limited);
  });

  it("can be turned off", async () => {
    const showId = await newShow(100);
    const ip = "192.0.2.44";
    const statuses = [];
    for (let seat = 1; seat <= 70; seat++)
      statuses.push((await book({ RATE_LIMITING: "off" }, ip, showId, seat)).status);
    expect(statuses).toEqual(Array(70).fill(200));
  });

  it("does not limit reading", async () => {
    const showId = await newShow(1);
    const statuses = [];
    for (let i = 0; i < 70; i++) {
      statuses.push(
        (
          await withEnv({ RATE_LIMITING: "on" }, `/api/shows/${showId}/seats`, {
            headers: { "cf-connecting-ip": "192.0.2.99" },
          })
        ).status,
      );
    }
    expect(statuses).toEqual(Array(70).fill(200));
  });
});

describe("logs", () => {
  it("write one JSON line per request with route, show, status and latency, and never a token", async () => {
    const showId = await newShow(3);
    const hold = await holdSeats(showId, [1]);
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));

    await call(`/api/holds/${hold.hold_id}/confirm`, { method: "POST", headers: bearer(hold.hold_token) });
    await call(`/admin/shows/${showId}/log?limit=5`, { headers: adminHeaders });
    await post("/api/book-seat/", { show_id: showId, seat_id: 2, user_id: "private-person" });

    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries).toEqual([
      {
        type: "request",
        method: "POST",
        route: "/api/holds/:hold_id/confirm",
        show_id: showId,
        status: 200,
        latency_ms: expect.any(Number),
      },
      {
        type: "request",
        method: "GET",
        route: "/admin/shows/:show_id/log",
        show_id: showId,
        status: 200,
        latency_ms: expect.any(Number),
      },
      {
        type: "request",
        method: "POST",
        route: "/api/book-seat",
        show_id: showId,
        status: 200,
        latency_ms: expect.any(Number),
      },
    ]);
    const everything = lines.join("\n");
    for (const secret of [hold.hold_token, ADMIN_TOKEN, "private-person", hold.hold_id])
      expect(everything).not.toContain(secret);
  });

  it("log unexpected errors with their detail, and answer a generic 500", async () => {
    const errors: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: unknown) => void errors.push(String(line)));
    vi.spyOn(console, "log").mockImplementation(() => {});
    const broken = {
      getByName: () => ({
        seatMapJson: async () => {
          throw new TypeError("boom: internal detail");
        },
      }),
    };
    const response = await withEnv({ SHOW: broken as unknown as Env["SHOW"] }, "/api/shows/x/seats");
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: "Internal server error" });
    expect(JSON.parse(errors[0]!)).toMatchObject({
      message: "unhandled error",
      path: "/api/shows/x/seats",
      error: { name: "TypeError", message: "boom: internal detail" },
    });
  });
});

describe("tokens", () => {
  it("hold and booking tokens carry 256 random bits and never repeat", async () => {
    const showId = await newShow(40);
    const tokens = new Set<string>();
    for (let seat = 1; seat <= 20; seat++) tokens.add((await holdSeats(showId, [seat])).hold_token);
    const response = await post(`/api/shows/${showId}/bookings`, {
      seat_ids: Array.from({ length: 20 }, (_, i) => i + 21),
    });
    const { bookings } = await response.json<{ bookings: { booking_token: string }[] }>();
    for (const { booking_token } of bookings) tokens.add(booking_token);
    expect(tokens.size).toBe(40);
    for (const token of tokens) expect(token).toMatch(/^(ht|bt)_[A-Za-z0-9_-]{43}$/); // 43 base64url characters = 256 bits
  });
});
