import { afterEach, describe, expect, it, vi } from "vitest";
import { ADMIN_TOKEN, bookSeat, countingLimiter, newShow, storedBookings, withEnv } from "./helpers";

afterEach(() => vi.restoreAllMocks());

/**
 * A client address no other test is likely to use (one of 131,072 in 198.18.0.0/15): the isolate
 * remembers a throttled address for a minute, and two tests that drew one from 200 collided.
 */
function uniqueClient(): string {
  const n = crypto.getRandomValues(new Uint32Array(1))[0]! % 131_072;
  return `198.${18 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

describe("rate limiting", () => {
  const book = (overrides: Partial<Env>, ip: string, showId: string, seat: number) =>
    withEnv(overrides, "/api/book-seat/", {
      method: "POST",
      headers: { "cf-connecting-ip": ip },
      body: JSON.stringify({ show_id: showId, seat_id: seat }),
    });

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

  it("limits filtered seat-map reads (each filter is its own read of the show), not plain ones", async () => {
    const showId = await newShow(10);
    const limiter = countingLimiter(2);
    const on = { RATE_LIMITING: "on", BOOKING_RATE_LIMITER: limiter as unknown as RateLimit };
    const read = (query: string) =>
      withEnv(on, `/api/shows/${showId}/seats${query}`, { headers: { "cf-connecting-ip": "203.0.113.9" } });
    const filtered = [];
    for (const category of ["General", "General", "General"])
      filtered.push((await read(`?category=${category}`)).status);
    expect(filtered).toEqual([200, 200, 429]);
    expect((await read("")).status).toBe(200);
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

  describe("wrong admin tokens", () => {
    const adminLog = (overrides: Partial<Env>, ip: string, showId: string, token: string) =>
      withEnv(overrides, `/admin/shows/${showId}/log`, {
        headers: { "cf-connecting-ip": ip, authorization: `Bearer ${token}` },
      });

    it("are throttled per client: past the limit, 429 for every admin request, even with the right token", async () => {
      const showId = await newShow(2);
      const limiter = countingLimiter(5);
      const on = { RATE_LIMITING: "on", ADMIN_AUTH_LIMITER: limiter as unknown as RateLimit };
      const ip = uniqueClient();
      const statuses = [];
      for (let i = 0; i < 7; i++) statuses.push((await adminLog(on, ip, showId, `guess-${i}`)).status);
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
      const right = await adminLog(on, ip, showId, ADMIN_TOKEN);
      expect(right.status).toBe(429);
      expect(right.headers.get("retry-after")).toBe("60");
      expect(await right.json()).toEqual({ error: "Too many wrong admin tokens from this address; wait and retry" });
      // Another client is not held back, and right tokens are never counted.
      const other = `192.0.2.${Math.floor(Math.random() * 200)}`;
      for (let i = 0; i < 8; i++) expect((await adminLog(on, other, showId, ADMIN_TOKEN)).status).toBe(200);
      expect(limiter.keys.get(other)).toBeUndefined();
    });

    it("sent to DELETE /api/bookings/:id count too: a token that is not a booking token is an admin attempt", async () => {
      const showId = await newShow(3);
      const booked = await (await bookSeat(showId, 1)).json<{ booking: { id: string; booking_token: string } }>();
      const limiter = countingLimiter(3);
      const on = { RATE_LIMITING: "on", ADMIN_AUTH_LIMITER: limiter as unknown as RateLimit };
      // Not an address the test before may have throttled: the isolate remembers that for a minute.
      const ip = uniqueClient();
      const cancel = (token: string) =>
        withEnv(on, `/api/bookings/${booked.booking.id}`, {
          method: "DELETE",
          headers: { "cf-connecting-ip": ip, authorization: `Bearer ${token}` },
        });
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await cancel(`guess-${i}`)).status);
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      expect(limiter.keys.get(ip)).toBe(4);
      // A wrong booking token is the booking's business (403) and spends nothing; the right one cancels.
      expect((await cancel("bt_not-this-one")).status).toBe(403);
      expect((await cancel(booked.booking.booking_token)).status).toBe(200);
      expect(limiter.keys.get(ip)).toBe(4);
    });

    it("sent all at once are compared one at a time: a burst of 200 wrong ones has five compared, and the right token is refused after", async () => {
      const showId = await newShow(2);
      const limiter = countingLimiter(5);
      const on = { RATE_LIMITING: "on", ADMIN_AUTH_LIMITER: limiter as unknown as RateLimit };
      const ip = uniqueClient();
      const tokens = [...Array.from({ length: 200 }, (_, i) => `guess-${i}`), ADMIN_TOKEN];
      const statuses = await Promise.all(tokens.map(async (token) => (await adminLog(on, ip, showId, token)).status));
      // Five wrong ones compared, the sixth refused by the limiter, and every later one before comparing.
      expect(limiter.keys.get(ip)).toBe(6);
      expect(statuses.filter((status) => status === 401)).toHaveLength(5);
      // The right token, sent last, is refused, unless it reached the line among the first few (the
      // requests of one burst need not arrive in the order they were sent): then it was compared
      // with fewer than five wrong ones before it, which the limit allows.
      expect([200, 429]).toContain(statuses.at(-1));
      expect((await adminLog(on, ip, showId, ADMIN_TOKEN)).status).toBe(429);
    });

    it("stay one at a time behind a check that hangs: the checks waiting on it go on one by one", async () => {
      const showId = await newShow(2);
      const seen = new Map<string, number>();
      let hang = true;
      const limiter = {
        async limit({ key }: { key: string }) {
          // The first call takes longer than a check may hold the line (as a cancelled request's never ends).
          if (hang) {
            hang = false;
            await new Promise((resolve) => setTimeout(resolve, 2500));
          }
          await new Promise((resolve) => setTimeout(resolve, 1));
          seen.set(key, (seen.get(key) ?? 0) + 1);
          return { success: seen.get(key)! <= 5 };
        },
      };
      const on = { RATE_LIMITING: "on", ADMIN_AUTH_LIMITER: limiter as unknown as RateLimit };
      const ip = uniqueClient();
      const head = adminLog(on, ip, showId, "guess-head");
      await new Promise((resolve) => setTimeout(resolve, 50));
      const tokens = Array.from({ length: 100 }, (_, i) => (i === 30 ? ADMIN_TOKEN : `guess-${i}`));
      const statuses = await Promise.all(tokens.map(async (token) => (await adminLog(on, ip, showId, token)).status));
      // The head is refused too: 401, or 429 if its slow limiter call ends after the burst tripped the throttle.
      expect([401, 429]).toContain((await head).status);
      // The head and five more compared and counted, the sixth refused by the limiter, the rest before comparing.
      expect(seen.get(ip)).toBeLessThanOrEqual(7);
      expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(6);
      // The right token is refused unless it reached the line before the limit was (see above).
      expect([200, 429]).toContain(statuses[30]);
      expect((await adminLog(on, ip, showId, ADMIN_TOKEN)).status).toBe(429);
    });

    it("a configured ADMIN_TOKEN too short to be safe turns admin routes off, and says so once in the log", async () => {
      const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
      const showId = await newShow(2);
      for (let i = 0; i < 3; i++) {
        const response = await adminLog({ ADMIN_TOKEN: "a" }, "192.0.2.9", showId, "a");
        expect(response.status).toBe(401);
        expect(await response.json()).toEqual({
          error: "Admin routes are disabled: the configured ADMIN_TOKEN is too short",
        });
      }
      const said = warnings.mock.calls.filter(([line]) => String(line).includes("ADMIN_TOKEN is shorter"));
      expect(said).toHaveLength(1);
    });

    it("an ADMIN_TOKEN no header can carry (a space inside) turns admin routes off, and says why", async () => {
      const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
      const showId = await newShow(2);
      const response = await adminLog({ ADMIN_TOKEN: "correct horse battery staple" }, "192.0.2.10", showId, "correct");
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({
        error: "Admin routes are disabled: the configured ADMIN_TOKEN cannot be sent in a header",
      });
      expect(warnings.mock.calls.some(([line]) => String(line).includes("no header can carry"))).toBe(true);
    });

    it("use the ADMIN_AUTH_LIMITER binding from wrangler.toml: 5 a minute", async () => {
      const showId = await newShow(2);
      const ip = `203.0.113.${Math.floor(Math.random() * 100)}`;
      const statuses = [];
      for (let i = 0; i < 12; i++) statuses.push((await adminLog({ RATE_LIMITING: "on" }, ip, showId, "wrong")).status);
      expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
      expect(statuses.slice(-3)).toEqual([429, 429, 429]);
    });
  });
});
