import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  adminHeaders,
  bookSeat,
  call,
  newShow,
  post,
  querySql,
  setClock,
  showStub,
  statuses,
  storedBookings,
} from "./helpers";

interface Booked {
  booking: { id: string; seat_id: number };
}

describe("a show's object evicted in the middle of bookings", () => {
  it("keeps every booking that got a 200, and never sells a seat twice", async () => {
    const showId = await newShow(30);
    const won = new Map<number, string>();
    const record = async (response: Response) => {
      if (response.status === 200) {
        const { booking } = await response.json<Booked>();
        expect(won.has(booking.seat_id)).toBe(false);
        won.set(booking.seat_id, booking.id);
      }
    };

    for (let seat = 1; seat <= 10; seat++) await record(await bookSeat(showId, seat, `first-${seat}`));
    await evictDurableObject(showStub(showId));

    // A burst that races for seats 11-20 (three buyers each). The first wave wakes the object;
    // the second is in flight while the object is evicted again.
    const buyer = (i: number) => bookSeat(showId, 11 + (i % 10), `burst-${i}`);
    const firstWave = await Promise.all(Array.from({ length: 15 }, (_, i) => buyer(i)));
    const [secondWave] = await Promise.all([
      Promise.all(Array.from({ length: 15 }, (_, i) => buyer(15 + i))),
      evictDurableObject(showStub(showId)),
    ]);
    const responses = [...firstWave, ...secondWave];
    for (const response of responses) await record(response);

    expect([...won.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const rows = await querySql<{ id: string; seat_id: string }>(
      showId,
      "SELECT id, seat_id FROM bookings ORDER BY CAST(seat_id AS INTEGER)",
    );
    expect(rows.map((row) => [Number(row.seat_id), row.id])).toEqual([...won.entries()].sort((a, b) => a[0] - b[0]));
    expect(responses.filter((r) => r.status === 409)).toHaveLength(20);
  });

  it("rebuilds what it cached in memory: the layout, the hold expiry and the seat map", async () => {
    const showId = await newShow(["A1", "A2", "A3"]);
    const start = Date.now();
    await setClock(showId, start);
    await post(`/api/shows/${showId}/holds`, { seat_ids: ["A1"], ttl_seconds: 60 });
    expect(await statuses(showId)).toEqual({ A1: "held", A2: "available", A3: "available" });

    await evictDurableObject(showStub(showId));
    await setClock(showId, start + 61_000);
    // The expired hold is free at once, the layout still knows A4 is no seat, and the map is current.
    expect(await statuses(showId)).toEqual({ A1: "available", A2: "available", A3: "available" });
    expect((await post("/api/book-seat/", { show_id: showId, seat_id: "A1" })).status).toBe(200);
    expect((await post("/api/book-seat/", { show_id: showId, seat_id: "A4" })).status).toBe(404);
    expect(await statuses(showId)).toEqual({ A1: "booked", A2: "available", A3: "available" });
    expect(await storedBookings(showId)).toEqual([{ seat_id: "A1", user_id: null }]);
    expect((await call(`/api/shows/${showId}/seats`)).status).toBe(200);
  });

  it("wakes with every seat's status as the database has it: booked, blocked, held, and free", async () => {
    const showId = await newShow(["A1", "A2", "A3", "A4", "A5", "A6"]);
    const start = Date.now();
    await setClock(showId, start);
    expect((await bookSeat(showId, "A1")).status).toBe(200);
    const blocked = await call(`/admin/shows/${showId}/seats/block`, {
      method: "POST",
      headers: adminHeaders,
      body: JSON.stringify({ seat_ids: ["A2"], reason: "broken" }),
    });
    expect(blocked.status).toBe(200);
    expect((await post(`/api/shows/${showId}/holds`, { seat_ids: ["A3"], ttl_seconds: 600 })).status).toBe(201);
    expect((await post(`/api/shows/${showId}/holds`, { seat_ids: ["A6"], ttl_seconds: 60 })).status).toBe(201);

    await evictDurableObject(showStub(showId));
    await setClock(showId, start + 61_000);
    expect(await statuses(showId)).toEqual({
      A1: "booked",
      A2: "blocked",
      A3: "held",
      A4: "available",
      A5: "available",
      A6: "available",
    });
    // Best available, which reads the index alone, picks from the free seats only.
    const best = await post(`/api/shows/${showId}/holds`, { best_available: { count: 3 } });
    expect(best.status).toBe(201);
    const { seats } = await best.json<{ seats: { seat_id: string }[] }>();
    expect(seats.map((seat) => seat.seat_id).sort()).toEqual(["A4", "A5", "A6"]);
  });
});
