import { describe, expect, it } from "vitest";
import { adminHeaders, call, createHold, post, storedBookings } from "./helpers";

const seats = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

async function putShow(showId: string, body: Record<string, unknown>): Promise<Response> {
  return call(`/admin/shows/${showId}`, { method: "PUT", headers: adminHeaders, body: JSON.stringify(body) });
}

async function showWith(limit?: number): Promise<string> {
  const showId = `t-${crypto.randomUUID()}`;
  const body =
    limit === undefined ? { name: "Limited", seats: 50 } : { name: "Limited", seats: 50, max_seats_per_order: limit };
  expect((await putShow(showId, body)).status).toBe(201);
  return showId;
}

describe("max_seats_per_order", () => {
  it("is 10 for a show that names none: 10 seats can be held, 11 get 400 naming the limit", async () => {
    const showId = await showWith();
    expect((await createHold(showId, { seat_ids: seats(10) })).status).toBe(201);
    const response = await createHold(showId, { seat_ids: seats(21).slice(10) });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: "This show allows at most 10 seats in one hold or booking",
      show_id: showId,
      field: "seat_ids",
      limit: 10,
    });
  });

  it("limits group bookings too, and a refused order changes nothing", async () => {
    const showId = await showWith(3);
    const response = await post(`/api/shows/${showId}/bookings`, { seat_ids: [1, 2, 3, 4] });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ limit: 3, field: "seat_ids" });
    expect(await storedBookings(showId)).toEqual([]);
    expect((await post(`/api/shows/${showId}/bookings`, { seat_ids: [1, 2, 3] })).status).toBe(200);
  });

  it("stays as it was when a later PUT leaves it out, and changes when one names it", async () => {
    const showId = await showWith(2);
    expect((await putShow(showId, { name: "Renamed", seats: 50 })).status).toBe(200);
    expect((await createHold(showId, { seat_ids: [1, 2, 3] })).status).toBe(400);
    expect((await putShow(showId, { name: "Renamed", seats: 50, max_seats_per_order: 3 })).status).toBe(200);
    expect((await createHold(showId, { seat_ids: [1, 2, 3] })).status).toBe(201);
  });

  it("must be a whole number from 1 to 100", async () => {
    for (const bad of [0, 101, 2.5, "10", null]) {
      const response = await putShow(`t-${crypto.randomUUID()}`, { name: "x", seats: 5, max_seats_per_order: bad });
      expect(response.status, JSON.stringify(bad)).toBe(400);
      expect(await response.json()).toMatchObject({ field: "max_seats_per_order" });
    }
  });
});
