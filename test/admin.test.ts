import { env, exports } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import {
  adminHeaders,
  BASE,
  bearer,
  bookSeat,
  call,
  general,
  holdSeats,
  newShow,
  statuses,
  storedBookings,
} from "./helpers";

function put(showId: string, body: unknown, headers: Record<string, string> = adminHeaders) {
  return call(`/admin/shows/${showId}`, { method: "PUT", headers, body: JSON.stringify(body) });
}

describe("admin auth", () => {
  const unauthorized = (message: string) => ({ status: 401, body: { error: message } });

  it.each([
    ["no Authorization header", {}, "Admin routes need an 'Authorization: Bearer <token>' header"],
    [
      "an empty bearer token",
      { authorization: "Bearer " },
      "Admin routes need an 'Authorization: Bearer <token>' header",
    ],
    [
      "another scheme",
      { authorization: "Basic dGVzdC1hZG1pbi10b2tlbg==" },
      "Admin routes need an 'Authorization: Bearer <token>' header",
    ],
    ["a wrong token", { authorization: "Bearer not-the-token" }, "Admin token is not valid"],
    ["the token with a different case", { authorization: "Bearer TEST-ADMIN-TOKEN" }, "Admin token is not valid"],
    ["a prefix of the token", { authorization: "Bearer test-admin" }, "Admin token is not valid"],
  ])("refuses %s with 401 and changes nothing", async (_name, headers, message) => {
    const showId = await newShow(3);
    await bookSeat(showId, 1);
    const response = await call(`/admin/shows/${showId}/bookings`, { method: "DELETE", headers });
    expect({ status: response.status, body: await response.json() }).toEqual(unauthorized(message));
    expect(response.headers.get("www-authenticate")).toBe("Bearer");
    expect(await storedBookings(showId)).toHaveLength(1);
  });

  it("matches the scheme name case-insensitively", async () => {
    const showId = await newShow(3);
    const response = await call(`/admin/shows/${showId}/bookings`, {
      method: "DELETE",
      headers: { authorization: "bEaReR test-admin-token" },
    });
    expect(response.status).toBe(200);
  });

  it("refuses every admin request when no ADMIN_TOKEN is configured", async () => {
    const request = new Request(`${BASE}/admin/shows/anything`, {
      method: "PUT",
      headers: { authorization: "Bearer " },
      body: JSON.stringify({ name: "x", seats: 1 }),
    });
    const response = await worker.fetch(
      request as Request<unknown, IncomingRequestCfProperties>,
      { ...env, ADMIN_TOKEN: undefined },
      createExecutionContext(),
    );
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: "Admin routes are disabled: no ADMIN_TOKEN is configured" });
  });

  it("checks the token before it reads the body", async () => {
    const response = await exports.default.fetch(
      new Request(`${BASE}/admin/shows/x`, { method: "PUT", body: "not json" }),
    );
    expect(response.status).toBe(401);
  });
});

describe("PUT /admin/shows/:show_id", () => {
  it("creates a show with seats 1..N (201), then updates it (200)", async () => {
    const showId = `t-${crypto.randomUUID()}`;
    const created = await put(showId, { name: "Opening night", seats: 3 });
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({
      message: "Show created",
      show: { show_id: showId, name: "Opening night", capacity: 3, available: 3, categories: general(3, 3) },
    });
    const updated = await put(showId, { name: "Opening night (moved)", seats: 5 });
    expect(updated.status).toBe(200);
    expect(await updated.json()).toEqual({
      message: "Show updated",
      show: {
        show_id: showId,
        name: "Opening night (moved)",
        capacity: 5,
        available: 5,
        categories: general(5, 5),
      },
    });
  });

  it("keeps bookings of seats that stay, and drops free seats that go", async () => {
    const showId = await newShow(["A1", "A2", "A3"]);
    await bookSeat(showId, "A2", "dora");
    const response = await put(showId, { name: "Smaller", seats: ["A2", "B1"] });
    expect(response.status).toBe(200);
    const seats = await (await call(`/api/shows/${showId}/seats`)).json();
    expect(seats).toMatchObject({
      seats: [
        { seat_id: "A2", status: "booked" },
        { seat_id: "B1", status: "available" },
      ],
    });
    expect(await storedBookings(showId)).toEqual([{ seat_id: "A2", user_id: "dora" }]);
  });

  it("refuses with 409 a layout that would drop a booked seat, and changes nothing", async () => {
    const showId = await newShow(5, "Before");
    await bookSeat(showId, 4);
    await bookSeat(showId, 5);
    const response = await put(showId, { name: "After", seats: 3 });
    expect(response.status).toBe(409);
    expect(await response.json()).toEqual({
      error: "The new layout leaves out seats that are booked or held; free them first",
      show_id: showId,
      seat_ids: [4, 5],
    });
    const seats = await (await call(`/api/shows/${showId}/seats`)).json();
    expect(seats).toMatchObject({ name: "Before", counts: { total: 5, booked: 2 } });
  });

  it.each([
    [{ seats: 3 }, { error: "name is required", field: "name" }],
    [
      { name: "  ", seats: 3 },
      { error: "name must be a string of 1-200 characters, not all spaces", field: "name" },
    ],
    [{ name: "x", seats: 0 }, { field: "seats" }],
    [{ name: "x", seats: 100_001 }, { field: "seats" }],
    [{ name: "x", seats: [] }, { field: "seats" }],
    [{ name: "x", seats: ["A1", "bad id"] }, { field: "seats" }],
    [
      { name: "x", seats: ["A1", "A1"] },
      { error: "seats must not list seat 'A1' twice", field: "seats" },
    ],
    [
      { name: "x", seats: [1, "1"] },
      { error: "seats must not list seat '1' twice", field: "seats" },
    ],
  ])("rejects the layout %j with 400", async (body, expected) => {
    const showId = `t-${crypto.randomUUID()}`;
    const response = await put(showId, body);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject(expected);
    expect((await call(`/api/shows/${showId}/seats`)).status).toBe(404);
  });
});

describe("resetting bookings", () => {
  it("DELETE /admin/shows/:show_id/seats/:seat_id/booking frees one seat, and says so", async () => {
    const showId = await newShow(3);
    await bookSeat(showId, 1);
    await bookSeat(showId, 2);
    const reset = await call(`/admin/shows/${showId}/seats/1/booking`, { method: "DELETE", headers: adminHeaders });
    expect(reset.status).toBe(200);
    expect(await reset.json()).toEqual({ message: "Seat reset", show_id: showId, seat_id: 1, released: true });
    expect(await storedBookings(showId)).toEqual([{ seat_id: "2", user_id: null }]);

    const again = await call(`/admin/shows/${showId}/seats/1/booking`, { method: "DELETE", headers: adminHeaders });
    expect(await again.json()).toEqual({
      message: "Seat was not booked or held",
      show_id: showId,
      seat_id: 1,
      released: false,
    });
    expect((await bookSeat(showId, 1)).status).toBe(200);
  });

  it("resetting a held seat releases the hold that has it", async () => {
    const showId = await newShow(3);
    const hold = await holdSeats(showId, [1, 2]);
    const reset = await call(`/admin/shows/${showId}/seats/2/booking`, { method: "DELETE", headers: adminHeaders });
    expect(await reset.json()).toEqual({ message: "Seat reset", show_id: showId, seat_id: 2, released: true });
    expect(await statuses(showId)).toEqual({ 1: "available", 2: "available", 3: "available" });
    const confirm = await call(`/api/holds/${hold.hold_id}/confirm`, {
      method: "POST",
      headers: bearer(hold.hold_token),
    });
    expect(confirm.status).toBe(410);
  });

  it("answers 404 for an unknown show or seat", async () => {
    const showId = await newShow(3);
    const seat = await call(`/admin/shows/${showId}/seats/9/booking`, { method: "DELETE", headers: adminHeaders });
    expect(seat.status).toBe(404);
    expect(await seat.json()).toEqual({ error: "Seat not found", show_id: showId, seat_id: 9 });
    const show = await call(`/admin/shows/missing-show/bookings`, { method: "DELETE", headers: adminHeaders });
    expect(show.status).toBe(404);
    expect(await show.json()).toEqual({ error: "Show not found", show_id: "missing-show" });
  });

  it("DELETE /admin/shows/:show_id/bookings frees the whole show", async () => {
    const showId = await newShow(3);
    await Promise.all([bookSeat(showId, 1), bookSeat(showId, 2), bookSeat(showId, 3)]);
    const response = await call(`/admin/shows/${showId}/bookings`, { method: "DELETE", headers: adminHeaders });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ message: "Show reset", show_id: showId, released: 3 });
    expect(await storedBookings(showId)).toEqual([]);
  });
});
