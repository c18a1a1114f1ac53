import { describe, expect, it } from "vitest";
import { adminHeaders, bearer, call, holdSeats, newShow, post, querySql, statuses, storedBookings } from "./helpers";

function bookGroup(showId: string, body: unknown, headers: Record<string, string> = {}) {
  return post(`/api/shows/${showId}/bookings`, body, headers);
}

interface BookingBody {
  id: string;
  seat_id: number;
  booking_token: string;
}

describe("POST /api/shows/:show_id/bookings", () => {
  it("books every seat named, each with its own id and token", async () => {
    const showId = await newShow(6);
    const response = await bookGroup(showId, { seat_ids: [2, 3, 4], user_id: "group-7" });
    expect(response.status).toBe(200);
    const body = await response.json<{ message: string; bookings: BookingBody[] }>();
    expect(body.message).toBe("Seats booked successfully");
    expect(body.bookings.map((b) => b.seat_id)).toEqual([2, 3, 4]);
    expect(new Set(body.bookings.map((b) => b.booking_token)).size).toBe(3);
    expect(await storedBookings(showId)).toEqual([
      { seat_id: "2", user_id: "group-7" },
      { seat_id: "3", user_id: "group-7" },
      { seat_id: "4", user_id: "group-7" },
    ]);
  });

  it("says, as do a hold and its confirmation, the show's change number once it was made (Seat-Map-Version)", async () => {
    const showId = await newShow(6);
    const latest = async () =>
      String((await querySql<{ seq: number }>(showId, "SELECT MAX(seq) AS seq FROM audit_log"))[0]!.seq);
    const booked = await post(`/api/shows/${showId}/bookings`, { seat_ids: [1, 2] });
    expect(booked.status).toBe(200);
    expect(booked.headers.get("seat-map-version")).toBe(await latest());
    const held = await post(`/api/shows/${showId}/holds`, { seat_ids: [3, 4] });
    expect(held.status).toBe(201);
    expect(held.headers.get("seat-map-version")).toBe(await latest());
    const { hold_id, hold_token } = await held.json<{ hold_id: string; hold_token: string }>();
    expect((await post("/api/book-seat/", { show_id: showId, seat_id: 5 })).headers.get("seat-map-version")).toBeNull();
    const confirmed = await post(`/api/holds/${hold_id}/confirm`, {}, bearer(hold_token));
    expect(confirmed.status).toBe(200);
    expect(confirmed.headers.get("seat-map-version")).toBe(await latest());
    expect(await latest()).toBe("7"); // two sales, two holds, one sale, two confirmed
  });

  it("books none when any seat is taken, and lists every conflicting seat", async () => {
    const showId = await newShow(6);
    await post("/api/book-seat/", { show_id: showId, seat_id: 2 });
    await holdSeats(showId, [5]);
    await call(`/admin/shows/${showId}/seats/block`, {
      method: "POST",
      headers: adminHeaders,
      body: JSON.stringify({ seat_ids: [6], reason: "camera position" }),
    });
    const response = await bookGroup(showId, { seat_ids: [1, 2, 3, 5, 6] });
    expect(response.status).toBe(409);
    expect(await response.json()).toEqual({ error: "Seats are not available", show_id: showId, seat_ids: [2, 5, 6] });
    expect(await storedBookings(showId)).toEqual([{ seat_id: "2", user_id: null }]);
    expect(await statuses(showId)).toMatchObject({ 1: "available", 3: "available" });
  });

  it("answers 404 naming unknown seats, and 400 for a bad list", async () => {
    const showId = await newShow(3);
    const unknown = await bookGroup(showId, { seat_ids: [1, 7] });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: "Seats not found", show_id: showId, seat_ids: [7] });
    const missing = await bookGroup(showId, { user_id: "x" });
    expect(await missing.json()).toEqual({ error: "seat_ids is required", field: "seat_ids" });
    const notAList = await bookGroup(showId, { seat_ids: 3 });
    expect(notAList.status).toBe(400);
    expect(await querySql(showId, "SELECT COUNT(*) AS n FROM bookings")).toEqual([{ n: 0 }]);
  });
});

describe("DELETE /api/bookings/:booking_id", () => {
  async function bookOne(showId: string, seatId: number): Promise<BookingBody> {
    const response = await post("/api/book-seat/", { show_id: showId, seat_id: seatId });
    expect(response.status).toBe(200);
    return (await response.json<{ booking: BookingBody }>()).booking;
  }

  it("cancels with the booking's own token and frees the seat", async () => {
    const showId = await newShow(3);
    const booking = await bookOne(showId, 1);
    const response = await call(`/api/bookings/${booking.id}`, {
      method: "DELETE",
      headers: bearer(booking.booking_token),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ message: "Booking cancelled", booking_id: booking.id });
    expect(await storedBookings(showId)).toEqual([]);
    expect((await bookOne(showId, 1)).seat_id).toBe(1);
  });

  it("cancels with the admin token", async () => {
    const showId = await newShow(3);
    const booking = await bookOne(showId, 2);
    const response = await call(`/api/bookings/${booking.id}`, { method: "DELETE", headers: adminHeaders });
    expect(response.status).toBe(200);
    const [entry] = await querySql(showId, "SELECT actor, route FROM audit_log WHERE new_status = 'available'");
    expect(entry).toEqual({ actor: "admin", route: "DELETE /api/bookings/:booking_id" });
  });

  it("refuses anyone else's token with 403 and no token with 401, and keeps the booking", async () => {
    const showId = await newShow(3);
    const mine = await bookOne(showId, 1);
    const theirs = await bookOne(showId, 2);
    const wrong = await call(`/api/bookings/${mine.id}`, { method: "DELETE", headers: bearer(theirs.booking_token) });
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toEqual({ error: "That token does not grant access to this booking" });
    const none = await call(`/api/bookings/${mine.id}`, { method: "DELETE" });
    expect(none.status).toBe(401);
    expect(await storedBookings(showId)).toHaveLength(2);
  });

  it("answers 404 for a booking that is gone, and 400 for a malformed id", async () => {
    const showId = await newShow(3);
    const booking = await bookOne(showId, 3);
    await call(`/api/bookings/${booking.id}`, { method: "DELETE", headers: bearer(booking.booking_token) });
    const again = await call(`/api/bookings/${booking.id}`, {
      method: "DELETE",
      headers: bearer(booking.booking_token),
    });
    expect(again.status).toBe(404);
    expect(await again.json()).toEqual({ error: "Booking not found", booking_id: booking.id });
    const malformed = await call("/api/bookings/12345", { method: "DELETE", headers: bearer(booking.booking_token) });
    expect(malformed.status).toBe(400);
  });
});
