import { afterEach, describe, expect, it, vi } from "vitest";
import { holdPolicy, MOST_HOLD_SECONDS, positiveInteger, storageHighWaterBytes, wholeNumberOr } from "../src/config";
import { relaysPerShow } from "../src/live/relay";
import { newShow, querySql, withEnv } from "./helpers";

afterEach(() => vi.restoreAllMocks());

describe("settings from the environment", () => {
  it("are whole numbers in decimal digits: anything else is the default, and past the most, the most", () => {
    for (const text of [undefined, "", " ", "ten", "1e3", "0x10", "1.5", "-5", "10s", "+7", "0"]) {
      expect(positiveInteger(text, 42), String(text)).toBe(42);
    }
    expect(positiveInteger(" 7 ", 42)).toBe(7);
    expect(positiveInteger("99999999999999", 42, 1000)).toBe(1000);
    expect(positiveInteger("9".repeat(16), 42, 1000)).toBe(1000);
    expect(positiveInteger("9".repeat(400), 42, 1000)).toBe(1000);
    expect(positiveInteger("0008", 42)).toBe(8);
    expect(storageHighWaterBytes({ SHOW_STORAGE_HIGH_WATER_MB: "20000" })).toBe(9_500 * 1024 * 1024);
    expect(storageHighWaterBytes({ SHOW_STORAGE_HIGH_WATER_MB: "1e4" })).toBe(8192 * 1024 * 1024);
    // Where 0 means something (copies off), only a written 0 says it.
    expect(wholeNumberOr("0", 1)).toBe(0);
    for (const text of [undefined, "", " ", "0.5", "1e1"]) expect(wholeNumberOr(text, 1)).toBe(1);
  });

  it("cap a hold's times, so that no setting makes a hold the service cannot describe", async () => {
    const huge = "99999999999999";
    expect(holdPolicy({ HOLD_TTL_MAX_SECONDS: huge, HOLD_MAX_LIFETIME_SECONDS: huge })).toMatchObject({
      maxTtl: MOST_HOLD_SECONDS,
      maxLifetime: MOST_HOLD_SECONDS,
    });
    const showId = await newShow(2);
    const hold = (ttl: number) =>
      withEnv({ HOLD_TTL_MAX_SECONDS: huge }, `/api/shows/${showId}/holds`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ seat_ids: [1], ttl_seconds: ttl }),
      });
    // Once a 500 that left the seat held (its expiry past what a date can say), now a 400.
    expect((await hold(1e13)).status).toBe(400);
    expect(await querySql(showId, "SELECT seat_id FROM held_seats")).toEqual([]);
    const longest = await hold(MOST_HOLD_SECONDS);
    expect(longest.status).toBe(201);
    const { expires_at } = await longest.json<{ expires_at: string }>();
    expect(Date.parse(expires_at) - Date.now()).toBeGreaterThan((MOST_HOLD_SECONDS - 60) * 1000);
  });

  it("give Retry-After and the admin throttle in whole seconds whatever is written", async () => {
    const showId = await newShow(2);
    const refused = await withEnv(
      {
        RATE_LIMITING: "on",
        RATE_LIMIT_PERIOD_SECONDS: "ten",
        BOOKING_RATE_LIMITER: { limit: async () => ({ success: false }) } as unknown as RateLimit,
      },
      "/api/book-seat/",
      { method: "POST", body: JSON.stringify({ show_id: showId, seat_id: 1 }) },
    );
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("10");
    const throttled = await withEnv(
      {
        RATE_LIMITING: "on",
        ADMIN_THROTTLE_SECONDS: "1e9",
        ADMIN_AUTH_LIMITER: { limit: async () => ({ success: false }) } as unknown as RateLimit,
      },
      `/admin/shows/${showId}/log`,
      { headers: { authorization: "Bearer wrong-token-guess", "cf-connecting-ip": "192.0.2.200" } },
    );
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get("retry-after")).toBe("60");
  });

  it("bound the live seat map's relays and their watchers, so that no setting makes a show's fan-out unbounded", () => {
    const env = (vars: Partial<Env>) => vars as Env;
    expect(relaysPerShow(env({ LIVE_RELAYS: "100000" }))).toBe(64);
    expect(relaysPerShow(env({ LIVE_RELAYS: "12" }))).toBe(12);
    expect(relaysPerShow(env({}))).toBe(8);
  });

  it("say once, not at every request, that a rate limiter is missing", async () => {
    const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
    const showId = await newShow(50);
    const unbound = { RATE_LIMITING: "on", BOOKING_RATE_LIMITER: undefined as unknown as RateLimit };
    for (let seat = 1; seat <= 20; seat++) {
      const booked = await withEnv(unbound, "/api/book-seat/", {
        method: "POST",
        body: JSON.stringify({ show_id: showId, seat_id: seat }),
      });
      expect(booked.status).toBe(200);
    }
    const said = warnings.mock.calls.filter(([line]) => String(line).includes("BOOKING_RATE_LIMITER is not bound"));
    expect(said).toHaveLength(1);
  });
});
