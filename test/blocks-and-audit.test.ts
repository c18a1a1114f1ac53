import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Show } from "../src/show/show";
import {
  adminHeaders,
  bearer,
  call,
  createHold,
  general,
  holdSeats,
  newShow,
  post,
  querySql,
  setClock,
  showStub,
  statuses,
} from "./helpers";

function admin(method: string, path: string, body?: unknown) {
  return call(path, { method, headers: adminHeaders, body: body === undefined ? undefined : JSON.stringify(body) });
}

describe("blocking seats", () => {
  it("a blocked seat cannot be held or booked; unblocking frees it", async () => {
    const showId = await newShow(4);
    const blocked = await admin("POST", `/admin/shows/${showId}/seats/block`, {
      seat_ids: [1, 2],
      reason: "sound desk",
    });
    expect(blocked.status).toBe(200);
    expect(await blocked.json()).toEqual({
      message: "Seats blocked",
      show_id: showId,
      seat_ids: [1, 2],
      reason: "sound desk",
    });
    expect(await statuses(showId)).toEqual({ 1: "blocked", 2: "blocked", 3: "available", 4: "available" });

    expect((await post("/api/book-seat/", { show_id: showId, seat_id: 1 })).status).toBe(409);
    expect((await createHold(showId, { seat_ids: [2, 3] })).status).toBe(409);

    const unblocked = await admin("POST", `/admin/shows/${showId}/seats/unblock`, { seat_ids: [1, 3] });
    expect(await unblocked.json()).toEqual({ message: "Seats unblocked", show_id: showId, seat_ids: [1] });
    expect((await post("/api/book-seat/", { show_id: showId, seat_id: 1 })).status).toBe(200);
  });

  it("blocks all or none: a seat that is not available gets 409 naming it", async () => {
    const showId = await newShow(3);
    await holdSeats(showId, [3]);
    const response = await admin("POST", `/admin/shows/${showId}/seats/block`, { seat_ids: [1, 3], reason: "x" });
    expect(response.status).toBe(409);
    expect(await response.json()).toEqual({ error: "Seats are not available", show_id: showId, seat_ids: [3] });
    expect(await statuses(showId)).toMatchObject({ 1: "available" });
  });

  it("needs a reason and the admin token", async () => {
    const showId = await newShow(3);
    const noReason = await admin("POST", `/admin/shows/${showId}/seats/block`, { seat_ids: [1] });
    expect(await noReason.json()).toEqual({ error: "reason is required", field: "reason" });
    const noToken = await post(`/admin/shows/${showId}/seats/block`, { seat_ids: [1], reason: "x" });
    expect(noToken.status).toBe(401);
    expect(await statuses(showId)).toMatchObject({ 1: "available" });
  });
});

describe("GET /admin/shows/:show_id/log", () => {
  it("names the user a hold or booking was made for as the actor of what its token does: confirm, release, cancel", async () => {
    const showId = await newShow(4);
    const held = async (seat: number, user: string) => {
      const response = await createHold(showId, { seat_ids: [seat], user_id: user });
      return response.json<{ hold_id: string; hold_token: string }>();
    };
    const bob = await held(1, "bob");
    expect((await post(`/api/holds/${bob.hold_id}/confirm`, {}, bearer(bob.hold_token))).status).toBe(200);
    const ann = await held(2, "ann");
    const released = await call(`/api/holds/${ann.hold_id}`, { method: "DELETE", headers: bearer(ann.hold_token) });
    expect(released.status).toBe(200);
    const booked = await post("/api/book-seat/", { show_id: showId, seat_id: 3, user_id: "cy" });
    const { booking } = await booked.json<{ booking: { id: string; booking_token: string } }>();
    const cancelled = await call(`/api/bookings/${booking.id}`, {
      method: "DELETE",
      headers: bearer(booking.booking_token),
    });
    expect(cancelled.status).toBe(200);
    // Without a user, the token's holder stays anonymous; an admin stays the admin.
    const nobody = await holdSeats(showId, [4]);
    await call(`/api/holds/${nobody.hold_id}`, { method: "DELETE", headers: bearer(nobody.hold_token) });
    await post("/api/book-seat/", { show_id: showId, seat_id: 4, user_id: "di" });
    await call(`/admin/shows/${showId}/seats/4/booking`, { method: "DELETE", headers: adminHeaders });

    const log = await (
      await call(`/admin/shows/${showId}/log`, { headers: adminHeaders })
    ).json<{
      entries: { seat_id: number; old_status: string; new_status: string; actor: string }[];
    }>();
    expect(
      log.entries.map((entry) => `${entry.seat_id} ${entry.old_status}→${entry.new_status} ${entry.actor}`),
    ).toEqual([
      "1 available→held user:bob",
      "1 held→booked user:bob",
      "2 available→held user:ann",
      "2 held→available user:ann",
      "3 available→booked user:cy",
      "3 booked→available user:cy",
      "4 available→held anonymous",
      "4 held→available anonymous",
      "4 available→booked user:di",
      "4 booked→available admin",
    ]);
  });

  it('logs a buyer whose user_id is "admin" as that user, never as the admin', async () => {
    const showId = await newShow(3);
    expect((await post("/api/book-seat/", { show_id: showId, seat_id: 1, user_id: "admin" })).status).toBe(200);
    expect((await post(`/api/shows/${showId}/bookings`, { seat_ids: [2], user_id: "admin" })).status).toBe(200);
    const hold = await createHold(showId, { seat_ids: [3], user_id: "admin" });
    expect(hold.status).toBe(201);
    const { hold_id, hold_token } = await hold.json<{ hold_id: string; hold_token: string }>();
    expect((await post(`/api/holds/${hold_id}/confirm`, {}, bearer(hold_token))).status).toBe(200);
    const log = await (await admin("GET", `/admin/shows/${showId}/log`)).json<{ entries: { actor: string }[] }>();
    expect(log.entries.map((entry) => entry.actor)).toEqual(["user:admin", "user:admin", "user:admin", "user:admin"]);
  });

  it("records every seat status change: seat, old and new status, who, which route, when", async () => {
    const showId = await newShow(3);
    await post("/api/book-seat/", { show_id: showId, seat_id: 1, user_id: "zed" });
    const hold = await holdSeats(showId, [2]);
    await call(`/api/holds/${hold.hold_id}`, { method: "DELETE", headers: bearer(hold.hold_token) });
    await admin("POST", `/admin/shows/${showId}/seats/block`, { seat_ids: [3], reason: "broken seat" });
    await admin("DELETE", `/admin/shows/${showId}/seats/1/booking`);

    const response = await admin("GET", `/admin/shows/${showId}/log`);
    expect(response.status).toBe(200);
    const body = await response.json<{ entries: { ref: string | null }[] }>();
    const at = expect.stringMatching(/^\d{4}-.*Z$/);
    expect(body).toEqual({
      show_id: showId,
      next_after: null,
      entries: [
        {
          seq: 1,
          seat_id: 1,
          old_status: "available",
          new_status: "booked",
          actor: "user:zed",
          route: "POST /api/book-seat",
          ref: expect.any(String),
          note: null,
          at,
        },
        {
          seq: 2,
          seat_id: 2,
          old_status: "available",
          new_status: "held",
          actor: "anonymous",
          route: "POST /api/shows/:show_id/holds",
          ref: hold.hold_id,
          note: null,
          at,
        },
        {
          seq: 3,
          seat_id: 2,
          old_status: "held",
          new_status: "available",
          actor: "anonymous",
          route: "DELETE /api/holds/:hold_id",
          ref: hold.hold_id,
          note: null,
          at,
        },
        {
          seq: 4,
          seat_id: 3,
          old_status: "available",
          new_status: "blocked",
          actor: "admin",
          route: "POST /admin/shows/:show_id/seats/block",
          ref: null,
          note: "broken seat",
          at,
        },
        {
          seq: 5,
          seat_id: 1,
          old_status: "booked",
          new_status: "available",
          actor: "admin",
          route: "DELETE /admin/shows/:show_id/seats/:seat_id/booking",
          ref: body.entries[0]!.ref,
          note: null,
          at,
        },
      ],
    });
  });

  it("logs a block that a layout change removes, so the seat's history stays unbroken", async () => {
    const showId = await newShow(5);
    expect((await admin("POST", `/admin/shows/${showId}/seats/block`, { seat_ids: [5], reason: "desk" })).status).toBe(
      200,
    );
    for (const seats of [4, 5]) {
      expect((await admin("PUT", `/admin/shows/${showId}`, { name: "Test show", seats })).status).toBe(200);
    }
    expect((await post("/api/book-seat/", { show_id: showId, seat_id: 5 })).status).toBe(200);
    const log = await (await admin("GET", `/admin/shows/${showId}/log`)).json<{ entries: Record<string, unknown>[] }>();
    expect(
      log.entries.map(({ seat_id, old_status, new_status, actor, route, note }) => ({
        seat_id,
        old_status,
        new_status,
        actor,
        route,
        note,
      })),
    ).toEqual([
      {
        seat_id: 5,
        old_status: "available",
        new_status: "blocked",
        actor: "admin",
        route: "POST /admin/shows/:show_id/seats/block",
        note: "desk",
      },
      {
        seat_id: 5,
        old_status: "blocked",
        new_status: "available",
        actor: "admin",
        route: "PUT /admin/shows/:show_id",
        note: "seat removed from the layout",
      },
      {
        seat_id: 5,
        old_status: "available",
        new_status: "booked",
        actor: "anonymous",
        route: "POST /api/book-seat",
        note: null,
      },
    ]);
  });

  it("logs a hold's expiry before a layout change drops its seat, so the seat's history stays unbroken", async () => {
    const showId = await newShow(5);
    const hold = await holdSeats(showId, [5], 30);
    // The hold has expired, and nothing has swept it yet: the alarm has not run.
    await setClock(showId, Date.parse(hold.expires_at) + 1000);
    for (const seats of [4, 5]) {
      expect((await admin("PUT", `/admin/shows/${showId}`, { name: "Test show", seats })).status).toBe(200);
    }
    expect((await post("/api/book-seat/", { show_id: showId, seat_id: 5 })).status).toBe(200);
    const log = await (await admin("GET", `/admin/shows/${showId}/log`)).json<{ entries: Record<string, unknown>[] }>();
    expect(
      log.entries.map(({ seat_id, old_status, new_status, note }) => ({ seat_id, old_status, new_status, note })),
    ).toEqual([
      { seat_id: 5, old_status: "available", new_status: "held", note: null },
      { seat_id: 5, old_status: "held", new_status: "available", note: "hold expired" },
      { seat_id: 5, old_status: "available", new_status: "booked", note: null },
    ]);
  });

  it("logs the expiry of a hold that comes due while a layout change reads the time, with one reading", async () => {
    const showId = await newShow(5);
    const hold = await holdSeats(showId, [5], 30);
    // The clock moves to the hold's expiry after its first reading, as a real clock may within a call.
    const due = Date.parse(hold.expires_at);
    await runInDurableObject(showStub(showId), (show: Show) => {
      let readings = 0;
      show.clock = () => (readings++ === 0 ? due - 1 : due);
    });
    const shrink = await admin("PUT", `/admin/shows/${showId}`, { name: "Test show", seats: 4 });
    expect(shrink.status).toBe(409);
    const log = await querySql<{ old_status: string; new_status: string }>(
      showId,
      "SELECT old_status, new_status FROM audit_log WHERE seat_id = '5' ORDER BY seq",
    );
    expect(log).toEqual([{ old_status: "available", new_status: "held" }]);
    expect(await querySql(showId, "SELECT state FROM holds")).toEqual([{ state: "active" }]);
  });

  it("pages with after and limit", async () => {
    const showId = await newShow(5);
    await post(`/api/shows/${showId}/bookings`, { seat_ids: [1, 2, 3, 4, 5] });
    const first = await (
      await admin("GET", `/admin/shows/${showId}/log?limit=2`)
    ).json<{ entries: { seq: number }[]; next_after: number }>();
    expect(first.entries.map((e) => e.seq)).toEqual([1, 2]);
    expect(first.next_after).toBe(2);
    const second = await (
      await admin("GET", `/admin/shows/${showId}/log?limit=2&after=${first.next_after}`)
    ).json<{ entries: { seq: number }[] }>();
    expect(second.entries.map((e) => e.seq)).toEqual([3, 4]);
    const last = await (await admin("GET", `/admin/shows/${showId}/log?limit=2&after=4`)).json();
    expect(last).toMatchObject({ entries: [{ seq: 5 }], next_after: null });
    const bad = await admin("GET", `/admin/shows/${showId}/log?limit=0`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: "limit must be a whole number from 1 to 500; optional", field: "limit" });
  });

  it("is append-only: the database refuses to change or delete an entry", async () => {
    const showId = await newShow(2);
    await post("/api/book-seat/", { show_id: showId, seat_id: 1 });
    await expect(querySql(showId, "UPDATE audit_log SET actor = 'someone else'")).rejects.toThrow(/append-only/);
    await expect(querySql(showId, "DELETE FROM audit_log")).rejects.toThrow(/append-only/);
    expect(await querySql(showId, "SELECT COUNT(*) AS n FROM audit_log")).toEqual([{ n: 1 }]);
  });

  it("needs the admin token, and answers 404 for an unknown show", async () => {
    const showId = await newShow(1);
    expect((await call(`/admin/shows/${showId}/log`)).status).toBe(401);
    expect((await admin("GET", "/admin/shows/nobody/log")).status).toBe(404);
  });
});

describe("the seat map", () => {
  it("shows all four statuses and never a token, hold id, booking id or user id", async () => {
    const showId = await newShow(4);
    const booked = await (
      await post("/api/book-seat/", { show_id: showId, seat_id: 1, user_id: "secret-user" })
    ).text();
    const hold = await holdSeats(showId, [2]);
    await admin("POST", `/admin/shows/${showId}/seats/block`, { seat_ids: [3], reason: "r" });
    const response = await call(`/api/shows/${showId}/seats`);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({
      show_id: showId,
      name: "Test show",
      seats: [
        { seat_id: 1, status: "booked" },
        { seat_id: 2, status: "held" },
        { seat_id: 3, status: "blocked" },
        { seat_id: 4, status: "available" },
      ],
      counts: { total: 4, available: 1, held: 1, booked: 1, blocked: 1 },
      categories: general(4, 1),
    });
    const { booking } = JSON.parse(booked) as { booking: { id: string; booking_token: string } };
    for (const secret of ["secret-user", booking.id, booking.booking_token, hold.hold_id, hold.hold_token]) {
      expect(text).not.toContain(secret);
    }
  });
});
