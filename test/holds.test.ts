import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { clientHash } from "../src/http/client";
import {
  adminHeaders,
  bearer,
  call,
  createHold,
  holdSeats,
  newShow,
  post,
  querySql,
  setClock,
  showStub,
  statuses,
  storedBookings,
  withEnv,
} from "./helpers";

const MINUTE = 60_000;
const HOLD_TOKEN = /^ht_[A-Za-z0-9_-]{43}$/;

function confirm(holdId: string, token: string, headers: Record<string, string> = {}) {
  return call(`/api/holds/${holdId}/confirm`, { method: "POST", headers: { ...bearer(token), ...headers } });
}

describe("creating a hold", () => {
  it("holds every seat for the default 10 minutes and returns a token", async () => {
    const showId = await newShow(10);
    const now = Date.now();
    await setClock(showId, now);
    const response = await createHold(showId, { seat_ids: [3, 1], user_id: "ana" });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({
      hold_id: expect.stringMatching(new RegExp(`^${showId}\\.[A-Za-z0-9_-]{22}$`)),
      hold_token: expect.stringMatching(HOLD_TOKEN),
      seat_ids: [3, 1],
      expires_at: new Date(now + 10 * MINUTE).toISOString(),
      seats: [
        { seat_id: 3, label: "Hall, row 1, seat 3", zone: "Hall", row: "1", number: "3", category: "General" },
        { seat_id: 1, label: "Hall, row 1, seat 1", zone: "Hall", row: "1", number: "1", category: "General" },
      ],
    });
    expect(await statuses(showId)).toMatchObject({ 1: "held", 2: "available", 3: "held" });
  });

  it("honours ttl_seconds and refuses one outside the configured bounds", async () => {
    const showId = await newShow(5);
    const now = Date.now();
    await setClock(showId, now);
    expect((await holdSeats(showId, [1], 45)).expires_at).toBe(new Date(now + 45_000).toISOString());
    for (const ttl of [29, 1801, 1.5, "60"]) {
      const response = await post(`/api/shows/${showId}/holds`, { seat_ids: [2], ttl_seconds: ttl });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: "ttl_seconds must be a whole number of seconds from 30 to 1800; optional, 600 by default",
        field: "ttl_seconds",
      });
    }
    expect(await statuses(showId)).toMatchObject({ 2: "available" });
  });

  it("holds all seats or none: a seat held by someone else gets 409 naming it", async () => {
    const showId = await newShow(6);
    await holdSeats(showId, [2, 3]);
    const response = await createHold(showId, { seat_ids: [1, 2, 3, 4] });
    expect(response.status).toBe(409);
    expect(await response.json()).toEqual({ error: "Seats are not available", show_id: showId, seat_ids: [2, 3] });
    expect(await statuses(showId)).toMatchObject({ 1: "available", 4: "available" });
  });

  it("refuses booked seats and unknown seats, naming them", async () => {
    const showId = await newShow(4);
    await post("/api/book-seat/", { show_id: showId, seat_id: 4 });
    const taken = await createHold(showId, { seat_ids: [1, 4] });
    expect(await taken.json()).toEqual({ error: "Seats are not available", show_id: showId, seat_ids: [4] });
    const unknown = await createHold(showId, { seat_ids: [1, 9, "X"] });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: "Seats not found", show_id: showId, seat_ids: [9, "X"] });
  });

  it("rejects repeated, missing and too many seat ids with 400", async () => {
    const showId = await newShow(200);
    const repeated = await createHold(showId, { seat_ids: [1, "1"] });
    expect(await repeated.json()).toEqual({ error: "seat_ids must not list seat '1' twice", field: "seat_ids" });
    const none = await createHold(showId, { seat_ids: [] });
    expect(none.status).toBe(400);
    const tooMany = await createHold(showId, { seat_ids: Array.from({ length: 101 }, (_, i) => i + 1) });
    expect(tooMany.status).toBe(400);
    expect(await tooMany.json()).toMatchObject({ field: "seat_ids" });
    const unknownShow = await createHold("no-show-here", { seat_ids: [1] });
    expect(unknownShow.status).toBe(404);
  });
});

describe("confirming, releasing and extending", () => {
  it("confirm turns the hold into one booking per seat, each with its own token", async () => {
    const showId = await newShow(5);
    const response = await createHold(showId, { seat_ids: [1, 2], user_id: "ben" });
    const hold = await response.json<{ hold_id: string; hold_token: string }>();
    const confirmed = await confirm(hold.hold_id, hold.hold_token);
    expect(confirmed.status).toBe(200);
    const body = await confirmed.json<{ bookings: { booking_token: string }[] }>();
    expect(body).toEqual({
      message: "Seats booked successfully",
      hold_id: hold.hold_id,
      bookings: [1, 2].map((seat) => ({
        id: expect.any(String),
        show_id: showId,
        seat_id: seat,
        user_id: "ben",
        booked_at: expect.any(String),
        booking_token: expect.stringMatching(/^bt_/),
      })),
    });
    expect(body.bookings[0]!.booking_token).not.toBe(body.bookings[1]!.booking_token);
    expect(await storedBookings(showId)).toEqual([
      { seat_id: "1", user_id: "ben" },
      { seat_id: "2", user_id: "ben" },
    ]);
    expect(await querySql(showId, "SELECT COUNT(*) AS n FROM held_seats")).toEqual([{ n: 0 }]);

    const again = await confirm(hold.hold_id, hold.hold_token);
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({ error: "Hold was already confirmed", hold_id: hold.hold_id });
  });

  it("needs the hold's own token: none gets 401, another gets 403", async () => {
    const showId = await newShow(5);
    const mine = await holdSeats(showId, [1]);
    const theirs = await holdSeats(showId, [2]);
    const missing = await call(`/api/holds/${mine.hold_id}/confirm`, { method: "POST" });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({
      error: "This route needs an 'Authorization: Bearer <hold_token>' header",
    });
    const wrong = await confirm(mine.hold_id, theirs.hold_token);
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toEqual({ error: "That token does not grant access to this hold" });
    const release = await call(`/api/holds/${mine.hold_id}`, { method: "DELETE", headers: bearer(theirs.hold_token) });
    expect(release.status).toBe(403);
    expect(await storedBookings(showId)).toEqual([]);
    expect(await statuses(showId)).toMatchObject({ 1: "held", 2: "held" });
  });

  it("answers 404 for an unknown hold and 400 for a malformed hold id", async () => {
    const showId = await newShow(2);
    const unknown = await confirm(`${showId}.AAAAAAAAAAAAAAAAAAAAAA`, "ht_x");
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: "Hold not found", hold_id: `${showId}.AAAAAAAAAAAAAAAAAAAAAA` });
    const malformed = await confirm("not-a-hold", "ht_x");
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({ error: "hold_id in the path is not a valid hold id", field: "hold_id" });
  });

  it("release frees the seats; a released hold cannot be confirmed", async () => {
    const showId = await newShow(3);
    const hold = await holdSeats(showId, [1, 2]);
    const released = await call(`/api/holds/${hold.hold_id}`, { method: "DELETE", headers: bearer(hold.hold_token) });
    expect(released.status).toBe(200);
    expect(await released.json()).toEqual({ message: "Hold released", hold_id: hold.hold_id, released: 2 });
    expect(await statuses(showId)).toEqual({ 1: "available", 2: "available", 3: "available" });
    const late = await confirm(hold.hold_id, hold.hold_token);
    expect(late.status).toBe(410);
    expect(await late.json()).toEqual({ error: "Hold was released", hold_id: hold.hold_id });
  });

  it("extend lengthens a hold, but never past its maximum lifetime of an hour", async () => {
    const showId = await newShow(3);
    const start = Date.now();
    await setClock(showId, start);
    const hold = await holdSeats(showId, [1], 60);
    const extend = (ttl?: number) =>
      call(`/api/holds/${hold.hold_id}/extend`, {
        method: "POST",
        headers: bearer(hold.hold_token),
        body: ttl === undefined ? undefined : JSON.stringify({ ttl_seconds: ttl }),
      });

    await setClock(showId, start + 50_000);
    const longer = await extend(300);
    expect(longer.status).toBe(200);
    expect(await longer.json()).toEqual({
      hold_id: hold.hold_id,
      seat_ids: [1],
      expires_at: new Date(start + 50_000 + 300_000).toISOString(),
    });

    await setClock(showId, start + MINUTE);
    expect(await (await extend(1800)).json()).toMatchObject({
      expires_at: new Date(start + 31 * MINUTE).toISOString(),
    });

    await setClock(showId, start + 30 * MINUTE);
    const capped = await extend(1800);
    expect(await capped.json()).toMatchObject({ expires_at: new Date(start + 60 * MINUTE).toISOString() });

    await setClock(showId, start + 58 * MINUTE);
    const byDefault = await extend();
    expect(await byDefault.json()).toMatchObject({ expires_at: new Date(start + 60 * MINUTE).toISOString() });
  });
});

describe("expiry", () => {
  it("an expired hold counts as free at once, for reads and for bookings, before any sweep", async () => {
    const showId = await newShow(3);
    const start = Date.now();
    await setClock(showId, start);
    const hold = await holdSeats(showId, [1, 2], 60);
    await setClock(showId, start + 60_000);
    expect(await statuses(showId)).toEqual({ 1: "available", 2: "available", 3: "available" });
    const booked = await post("/api/book-seat/", { show_id: showId, seat_id: 1 });
    expect(booked.status).toBe(200);
    const late = await confirm(hold.hold_id, hold.hold_token);
    expect(late.status).toBe(410);
    expect(await late.json()).toEqual({ error: "Hold has expired and its seats were released", hold_id: hold.hold_id });
    expect(await storedBookings(showId)).toEqual([{ seat_id: "1", user_id: null }]);
  });

  it("shows in the audit log a hold that has run out, whether or not anything swept it since, at the time it ran out", async () => {
    const showId = await newShow(3);
    const start = Date.now();
    await setClock(showId, start);
    const hold = await holdSeats(showId, [1], 60);
    // Ten minutes on, and nothing (no alarm, no read, no change) has swept the hold: the seat map
    // says seat 1 is free, and the log, read now, says so too.
    await setClock(showId, start + 10 * MINUTE);
    const response = await call(`/admin/shows/${showId}/log`, { headers: adminHeaders });
    const { entries } = await response.json<{ entries: { seat_id: number; new_status: string; at: string }[] }>();
    expect(entries.map((entry) => [entry.seat_id, entry.new_status, entry.at])).toEqual([
      [1, "held", new Date(start).toISOString()],
      [1, "available", hold.expires_at],
    ]);
  });

  it("logs every seat of holds that come due together, hold by hold in the order they expired", async () => {
    const showId = await newShow(6);
    const start = Date.now();
    await setClock(showId, start);
    const later = await holdSeats(showId, [5, 2], 90);
    const sooner = await holdSeats(showId, [4, 1, 6], 60);
    const live = await holdSeats(showId, [3], 600);
    await setClock(showId, start + 2 * MINUTE);
    // The next change sweeps them first: one booking of a seat one of them held.
    expect((await post("/api/book-seat/", { show_id: showId, seat_id: 2 })).status).toBe(200);
    const log = await querySql(
      showId,
      "SELECT seat_id, old_status, new_status, actor, route, ref, note, at FROM audit_log WHERE seq > 6 ORDER BY seq",
    );
    // Each at the moment its hold ran out, though both were swept two minutes in.
    const expired = (seat: string, hold: string, at: number) => ({
      seat_id: seat,
      old_status: "held",
      new_status: "available",
      actor: "system",
      route: "hold expiry",
      ref: hold,
      note: "hold expired",
      at,
    });
    expect(log.slice(0, 5)).toEqual([
      expired("1", sooner.hold_id, start + 60_000),
      expired("4", sooner.hold_id, start + 60_000),
      expired("6", sooner.hold_id, start + 60_000),
      expired("2", later.hold_id, start + 90_000),
      expired("5", later.hold_id, start + 90_000),
    ]);
    expect(log.slice(5).map((entry) => [entry.seat_id, entry.new_status])).toEqual([["2", "booked"]]);
    const holds = await querySql(showId, "SELECT id, state FROM holds ORDER BY expires_at");
    expect(holds).toEqual([
      { id: sooner.hold_id, state: "expired" },
      { id: later.hold_id, state: "expired" },
      { id: live.hold_id, state: "active" },
    ]);
    expect(await querySql(showId, "SELECT seat_id FROM held_seats")).toEqual([{ seat_id: "3" }]);
  });

  it("the alarm sweeps expired holds, and running it twice changes nothing more", async () => {
    const showId = await newShow(4);
    const start = Date.now();
    await setClock(showId, start);
    const short = await holdSeats(showId, [1, 2], 60);
    await holdSeats(showId, [3], 600);
    await setClock(showId, start + 2 * MINUTE);

    expect(await runDurableObjectAlarm(showStub(showId))).toBe(true);
    const afterFirst = await querySql(showId, "SELECT id, state FROM holds ORDER BY expires_at");
    expect(afterFirst.map((h) => h.state)).toEqual(["expired", "active"]);
    const log = await querySql(
      showId,
      "SELECT seat_id, old_status, new_status, actor, ref FROM audit_log WHERE actor = 'system'",
    );
    expect(log).toEqual([
      { seat_id: "1", old_status: "held", new_status: "available", actor: "system", ref: short.hold_id },
      { seat_id: "2", old_status: "held", new_status: "available", actor: "system", ref: short.hold_id },
    ]);

    // The alarm re-arms for the remaining hold; running it again early changes nothing.
    expect(await runDurableObjectAlarm(showStub(showId))).toBe(true);
    expect(await querySql(showId, "SELECT id, state FROM holds ORDER BY expires_at")).toEqual(afterFirst);
    expect(await querySql(showId, "SELECT COUNT(*) AS n FROM audit_log WHERE actor = 'system'")).toEqual([{ n: 2 }]);
    expect(await statuses(showId)).toEqual({ 1: "available", 2: "available", 3: "held", 4: "available" });

    await setClock(showId, start + 11 * MINUTE);
    expect(await runDurableObjectAlarm(showStub(showId))).toBe(true);
    expect(await statuses(showId)).toEqual({ 1: "available", 2: "available", 3: "available", 4: "available" });
    // Nothing left to expire: no alarm is scheduled any more.
    expect(await runDurableObjectAlarm(showStub(showId))).toBe(false);
  });

  it("a confirm racing expiry leaves each seat booked or released, never both", async () => {
    for (const offset of [-1, 0, 1]) {
      const showId = await newShow(2);
      const start = Date.now();
      await setClock(showId, start);
      const hold = await holdSeats(showId, [1, 2], 60);
      await setClock(showId, start + 60_000 + offset);

      const [confirmed] = await Promise.all([
        confirm(hold.hold_id, hold.hold_token),
        runDurableObjectAlarm(showStub(showId)),
      ]);
      const bookings = await storedBookings(showId);
      const held = await querySql(showId, "SELECT COUNT(*) AS n FROM held_seats");
      const seats = await statuses(showId);
      if (offset < 0) {
        expect(confirmed.status).toBe(200);
        expect(bookings).toHaveLength(2);
        expect(seats).toEqual({ 1: "booked", 2: "booked" });
      } else {
        expect(confirmed.status).toBe(410);
        expect(bookings).toEqual([]);
        expect(seats).toEqual({ 1: "available", 2: "available" });
      }
      expect(held).toEqual([{ n: 0 }]);
      const transitions = await querySql<{ seat_id: string; new_status: string }>(
        showId,
        "SELECT seat_id, new_status FROM audit_log WHERE old_status = 'held' ORDER BY seq",
      );
      // Each seat left "held" exactly once: to booked, or to available.
      expect(transitions.map((t) => t.seat_id).sort()).toEqual(["1", "2"]);
      expect(new Set(transitions.map((t) => t.new_status)).size).toBe(1);
    }
  });
});

describe("200 simultaneous overlapping group holds", () => {
  it("exactly one wins, and no seat is held twice", async () => {
    const showId = await newShow(20);
    // Every request wants seat 1 and two others, so any two requests overlap.
    const requests = Array.from({ length: 200 }, (_, i) => [1, 2 + (i % 19), 2 + ((i * 7 + 3) % 19)]).map((seats) => [
      ...new Set(seats),
    ]);
    const responses = await Promise.all(requests.map((seat_ids) => createHold(showId, { seat_ids })));
    const statusesSeen = responses.map((r) => r.status);
    expect(statusesSeen.filter((s) => s === 201)).toHaveLength(1);
    expect(statusesSeen.filter((s) => s === 409)).toHaveLength(199);

    const winner = await responses.find((r) => r.status === 201)!.json<{ hold_id: string; seat_ids: number[] }>();
    const held = await querySql<{ seat_id: string; hold_id: string }>(
      showId,
      "SELECT seat_id, hold_id FROM held_seats ORDER BY seat_id",
    );
    expect(held.map((row) => row.hold_id)).toEqual(held.map(() => winner.hold_id));
    expect(held.map((row) => Number(row.seat_id)).sort((a, b) => a - b)).toEqual(
      [...winner.seat_ids].sort((a, b) => a - b),
    );
    for (const loser of responses.filter((r) => r.status === 409)) {
      const body = await loser.json<{ seat_ids: number[] }>();
      expect(body.seat_ids).toContain(1);
    }
  });
});

describe("seats one address may hold at once", () => {
  const allowAll = { limit: async () => ({ success: true }) } as unknown as RateLimit;
  const on = { RATE_LIMITING: "on", BOOKING_RATE_LIMITER: allowAll };
  const holdFrom = (
    address: string,
    showId: string,
    seatIds: number[],
    { ttl = 1800, overrides = on }: { ttl?: number; overrides?: Partial<Env> } = {},
  ) =>
    withEnv(overrides, `/api/shows/${showId}/holds`, {
      method: "POST",
      headers: { "cf-connecting-ip": address, "content-type": "application/json" },
      body: JSON.stringify({ seat_ids: seatIds, ttl_seconds: ttl }),
    });
  const seats = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

  it("are four orders' worth: past that a hold gets 429 and holds nothing, while other addresses hold on", async () => {
    // At most 10 seats an order, so one address may hold 40 at once.
    const showId = await newShow(100, "Hoarded", 10);
    const made = [];
    for (let k = 0; k < 4; k++) made.push((await holdFrom("203.0.113.66", showId, seats(1 + 10 * k, 10))).status);
    expect(made).toEqual([201, 201, 201, 201]);
    const refused = await holdFrom("203.0.113.66", showId, [41]);
    expect(refused.status).toBe(429);
    // Told to come back when the first of its holds runs out (they last 1,800 s).
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(1790);
    expect(Number(refused.headers.get("retry-after"))).toBeLessThanOrEqual(1800);
    expect(await refused.json()).toEqual({
      error:
        "This address already holds 40 seats of this show, and may hold at most 40 at once; confirm or release a hold first",
      show_id: showId,
      reason: "address_holds_too_many",
      limit: 40,
      held: 40,
    });
    expect((await statuses(showId))["41"]).toBe("available");
    // Two addresses of one IPv6 /64 are one client; another address holds as before.
    for (let k = 0; k < 4; k++) {
      expect((await holdFrom("2001:db8:1:2::a", showId, seats(41 + 10 * k, 10))).status).toBe(201);
    }
    expect((await holdFrom("2001:db8:1:2::b", showId, [81])).status).toBe(429);
    expect((await holdFrom("198.51.100.7", showId, seats(81, 10))).status).toBe(201);
  });

  it("say when to come back: when enough of the address's holds have run out for the new one", async () => {
    const showId = await newShow(100, "Later", 10);
    const now = Date.now();
    await setClock(showId, now);
    const holdFor = (seatIds: number[], ttl: number) => holdFrom("203.0.113.69", showId, seatIds, { ttl });
    expect((await holdFor([1], 60)).status).toBe(201);
    for (const [from, count] of [
      [2, 10],
      [12, 10],
      [22, 10],
      [32, 9],
    ] as const) {
      expect((await holdFor(seats(from, count), 1800)).status).toBe(201);
    }
    // 40 held; ten more need the one-seat hold and a ten-seat one gone: 1,800 s, not 60.
    const refused = await holdFor(seats(41, 10), 600);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1800");
    await setClock(showId, now + 61_000);
    expect((await holdFor(seats(41, 10), 600)).status).toBe(429);
    expect((await holdFor([41], 600)).status).toBe(201);
  });

  it("count only live holds: a hold released or expired gives its seats back to the address's allowance", async () => {
    const showId = await newShow(100, "Turnover", 10);
    const now = Date.now();
    await setClock(showId, now);
    const holds = [];
    for (let k = 0; k < 4; k++) {
      const response = await holdFrom("203.0.113.67", showId, seats(1 + 10 * k, 10));
      expect(response.status).toBe(201);
      holds.push(await response.json<{ hold_id: string; hold_token: string }>());
    }
    expect((await holdFrom("203.0.113.67", showId, [50])).status).toBe(429);
    const released = await call(`/api/holds/${holds[0]!.hold_id}`, {
      method: "DELETE",
      headers: bearer(holds[0]!.hold_token),
    });
    expect(released.status).toBe(200);
    expect((await holdFrom("203.0.113.67", showId, seats(50, 10))).status).toBe(201);
    await setClock(showId, now + 1801 * 1000);
    expect((await holdFrom("203.0.113.67", showId, seats(60, 10))).status).toBe(201);
    // The address is kept hashed, and only while a hold lasts.
    const clients = await querySql<{ state: string; client: string | null }>(
      showId,
      "SELECT state, client FROM holds ORDER BY created_at, state",
    );
    expect(clients.filter((row) => row.client !== null).map((row) => row.state)).toEqual(["active"]);
    // Keyed with the queue's secret: hashing every IPv4 address would not undo it.
    const stored = clients.find((row) => row.client !== null)!.client;
    expect(stored).toBe(clientHash("203.0.113.67", env.QUEUE_SECRET));
    expect(stored).not.toBe(clientHash("203.0.113.67"));
  });

  it("are not limited with HELD_ORDERS_PER_ADDRESS = off, and then no address is kept", async () => {
    const showId = await newShow(100, "Box office", 10);
    const off = { ...on, HELD_ORDERS_PER_ADDRESS: "off" };
    for (let k = 0; k < 6; k++) {
      const held = await holdFrom("203.0.113.68", showId, seats(1 + 10 * k, 10), { overrides: off });
      expect(held.status).toBe(201);
    }
    expect(await querySql(showId, "SELECT COUNT(*) AS n FROM holds WHERE client IS NOT NULL")).toEqual([{ n: 0 }]);
  });

  it("are not limited when limits per address are off (RATE_LIMITING = off: local servers, the benchmark)", async () => {
    const showId = await newShow(100, "Box office", 10);
    for (let k = 0; k < 6; k++)
      expect((await createHold(showId, { seat_ids: seats(1 + 10 * k, 10) })).status).toBe(201);
  });
});
