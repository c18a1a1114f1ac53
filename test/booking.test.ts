import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Show } from "../src/show/show";
import { bookSeat, call, general, newShow, showStub, storedBookings } from "./helpers";

const ORIGIN = { route: "test", actor: "test" };
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** Booking ids carry their show: `<show_id>.<22 random characters>`. */
const bookingId = (showId: string) => new RegExp(`^${showId}\\.[A-Za-z0-9_-]{22}$`);
const BOOKING_TOKEN = /^bt_[A-Za-z0-9_-]{43}$/;

describe("POST /api/book-seat/", () => {
  it("books a free seat with the old system's message and the booking", async () => {
    const showId = await newShow(20);
    const response = await bookSeat(showId, 10, "alice");
    expect(response.status).toBe(200);
    // A booking's answer carries its token: no cache on the way may keep it.
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = await response.json<{ booking: { id: string; booked_at: string } }>();
    expect(body).toEqual({
      message: "Seat booked successfully",
      booking: {
        id: expect.stringMatching(bookingId(showId)),
        show_id: showId,
        seat_id: 10,
        user_id: "alice",
        booked_at: expect.stringMatching(ISO_TIME),
        booking_token: expect.stringMatching(BOOKING_TOKEN),
      },
    });
    expect(await storedBookings(showId)).toEqual([{ seat_id: "10", user_id: "alice" }]);
  });

  it("answers 409 with the old message for a seat already sold, and stores nothing more", async () => {
    const showId = await newShow(20);
    expect((await bookSeat(showId, 10, "alice")).status).toBe(200);
    const second = await bookSeat(showId, 10, "bob");
    expect(second.status).toBe(409);
    expect(second.headers.get("content-type")).toBe("application/json");
    expect(second.headers.get("cache-control")).toBe("no-store");
    expect(await second.json()).toEqual({
      error: "Seat is already booked by another user",
      show_id: showId,
      seat_id: 10,
    });
    expect(await storedBookings(showId)).toEqual([{ seat_id: "10", user_id: "alice" }]);
  });

  it('treats 10 and "10" as the same seat', async () => {
    const showId = await newShow(20);
    expect((await bookSeat(showId, "10")).status).toBe(200);
    expect((await bookSeat(showId, 10)).status).toBe(409);
  });

  it("accepts the trailing slash or not", async () => {
    const showId = await newShow(5);
    const response = await call("/api/book-seat", {
      method: "POST",
      body: JSON.stringify({ show_id: showId, seat_id: 1 }),
    });
    expect(response.status).toBe(200);
  });

  it("does not need a JSON content type (curl -d sends a form type)", async () => {
    const showId = await newShow(5);
    const response = await call("/api/book-seat/", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: JSON.stringify({ show_id: showId, seat_id: 2 }),
    });
    expect(response.status).toBe(200);
  });

  it("books string seat ids and records a null user when none is given", async () => {
    const showId = await newShow(["A1", "A2", "B1"]);
    const response = await bookSeat(showId, "B1");
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ booking: { seat_id: "B1", user_id: null } });
    expect(await storedBookings(showId)).toEqual([{ seat_id: "B1", user_id: null }]);
  });

  it("answers 404 for an unknown show and an unknown seat", async () => {
    const missingShow = await bookSeat("no-such-show", 1);
    expect(missingShow.status).toBe(404);
    expect(await missingShow.json()).toEqual({ error: "Show not found", show_id: "no-such-show" });

    const showId = await newShow(5);
    const missingSeat = await bookSeat(showId, 6);
    expect(missingSeat.status).toBe(404);
    expect(await missingSeat.json()).toEqual({ error: "Seat not found", show_id: showId, seat_id: 6 });
    expect(await storedBookings(showId)).toEqual([]);
  });
});

describe("refusals", () => {
  it("a seat the object already knows is taken is refused by a query, without trying the sale's statement", async () => {
    const showId = await newShow(2);
    await runInDurableObject(showStub(showId), (show: Show, state) => {
      const { sql } = state.storage;
      const exec = sql.exec;
      let sales = 0;
      sql.exec = ((query: string, ...bindings: unknown[]) => {
        if (query.includes("INSERT INTO sales")) sales++;
        return exec.call(sql, query, ...bindings);
      }) as typeof sql.exec;
      try {
        const refused = { ok: false, reason: "unavailable", seat_ids: [1] };
        expect(show.book(["1"], "first", ORIGIN, null)).toMatchObject({ ok: true });
        // The object has not looked at its log since: the sale's statement refuses the seat.
        expect(show.book(["1"], "second", ORIGIN, null)).toEqual(refused);
        expect(sales).toBe(2);
        // Now it knows: the next buyer is refused without a statement that would throw.
        expect(show.book(["1"], "third", ORIGIN, null)).toEqual(refused);
        expect(sales).toBe(2);
        // What it knows is a hint only: the seat, freed since, sells again.
        expect(show.resetSeat("1", ORIGIN)).toEqual({ ok: true, released: 1 });
        expect(show.book(["1"], "fourth", ORIGIN, null)).toMatchObject({ ok: true, bookings: [{ user_id: "fourth" }] });
        expect(sales).toBe(3);
        expect(sql.exec("SELECT user_id FROM bookings").toArray()).toEqual([{ user_id: "fourth" }]);
      } finally {
        sql.exec = exec;
      }
    });
  });
});

describe("reading shows", () => {
  it("GET /api/shows/:show_id/seats gives every seat's status in layout order, and the counts", async () => {
    const showId = await newShow(["B2", "A1", "C3"], "Matinee");
    await bookSeat(showId, "A1", "carol");
    const response = await call(`/api/shows/${showId}/seats`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      show_id: showId,
      name: "Matinee",
      seats: [
        { seat_id: "B2", status: "available" },
        { seat_id: "A1", status: "booked" },
        { seat_id: "C3", status: "available" },
      ],
      counts: { total: 3, available: 2, held: 0, booked: 1, blocked: 0 },
      categories: general(3, 2),
    });
  });

  it("GET /api/shows/:show_id/seats answers 404 for an unknown show", async () => {
    const response = await call("/api/shows/nobody-made-this/seats");
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: "Show not found", show_id: "nobody-made-this" });
  });

  it("GET /api/shows lists shows with name, capacity and available seats", async () => {
    const showId = await newShow(4, "Evening");
    await bookSeat(showId, 1);
    // The show tells the catalog on its alarm, a second after a change.
    expect(await runDurableObjectAlarm(showStub(showId))).toBe(true);
    const response = await call("/api/shows?limit=200");
    expect(response.status).toBe(200);
    const { shows } = await response.json<{ shows: unknown[] }>();
    const categories = general(4, 3);
    expect(shows).toContainEqual({ show_id: showId, name: "Evening", capacity: 4, available: 3, categories });
  });
});
