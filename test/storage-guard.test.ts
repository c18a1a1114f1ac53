import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Show } from "../src/show/show";
import {
  ADMIN_TOKEN,
  bearer,
  bookSeat,
  call,
  createHold,
  holdSeats,
  newShow,
  querySql,
  showStub,
  statuses,
} from "./helpers";

afterEach(() => vi.restoreAllMocks());

/** Sets the show's storage high-water mark, in bytes (0: it is past it now). */
function highWater(showId: string, bytes: number) {
  return runInDurableObject(showStub(showId), (show: Show) => {
    show.storageGuard.highWater = bytes;
  });
}

describe("a show whose database is past its high-water mark", () => {
  it("takes no new holds and no cancellations by booking token, and goes on selling", async () => {
    const showId = await newShow(6);
    const before = await holdSeats(showId, [1, 2]);
    const booked = await (await bookSeat(showId, 3)).json<{ booking: { id: string; booking_token: string } }>();
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    await highWater(showId, 0);

    const refused = await createHold(showId, { seat_ids: [4] });
    expect(refused.status).toBe(507);
    expect(await refused.json()).toEqual({
      error:
        "This show's storage is nearly full, so it takes no new holds, no cancellations by booking token and no extensions of holds under a new Idempotency-Key; bookings still go through",
      show_id: showId,
    });
    // A hold that would be refused anyway says why: the mark comes last.
    expect((await createHold(showId, { seat_ids: [999] })).status).toBe(404);
    expect((await createHold(showId, { seat_ids: [1] })).status).toBe(409);
    const cancel = (token: string) =>
      call(`/api/bookings/${booked.booking.id}`, { method: "DELETE", headers: bearer(token) });
    expect((await cancel(booked.booking.booking_token)).status).toBe(507);
    expect(await statuses(showId)).toMatchObject({ 1: "held", 2: "held", 3: "booked", 4: "available" });

    // Sales, confirmations and the admin go on.
    expect((await bookSeat(showId, 5)).status).toBe(200);
    const confirmed = await call(`/api/holds/${before.hold_id}/confirm`, {
      method: "POST",
      headers: bearer(before.hold_token),
    });
    expect(confirmed.status).toBe(200);
    expect((await cancel(ADMIN_TOKEN)).status).toBe(200);
    expect(await statuses(showId)).toEqual({
      1: "booked",
      2: "booked",
      3: "available",
      4: "available",
      5: "booked",
      6: "available",
    });
    // The log says so once a minute, however many are refused.
    const said = errors.mock.calls.filter(([line]) => String(line).includes("high-water mark"));
    expect(said).toHaveLength(1);
    expect(JSON.parse(String(said[0]![0]))).toMatchObject({ show_id: showId, high_water: 0 });

    // Below the mark again, holds are taken.
    await highWater(showId, 8192 * 1024 * 1024);
    expect((await createHold(showId, { seat_ids: [4] })).status).toBe(201);
  });

  it("takes no extension of a hold under a new Idempotency-Key, whose answer it would keep a day", async () => {
    const showId = await newShow(4);
    const hold = await holdSeats(showId, [1]);
    const extend = (key?: string) =>
      call(`/api/holds/${hold.hold_id}/extend`, {
        method: "POST",
        headers: {
          ...bearer(hold.hold_token),
          "content-type": "application/json",
          ...(key === undefined ? {} : { "idempotency-key": key }),
        },
        body: JSON.stringify({ ttl_seconds: 600 }),
      });
    const first = await extend("key-before-the-mark");
    expect(first.status).toBe(200);
    vi.spyOn(console, "error").mockImplementation(() => {});
    await highWater(showId, 0);
    const answers = async () =>
      (await querySql<{ n: number }>(showId, "SELECT COUNT(*) AS n FROM idempotent_answers"))[0]!.n;
    const stored = await answers();

    for (let i = 0; i < 20; i++) expect((await extend(`a-new-key-number-${i}`)).status).toBe(507);
    expect(await answers()).toBe(stored);
    // An extension that stores nothing new goes on, and so does the replay of an answer kept before.
    expect((await extend()).status).toBe(200);
    const replay = await extend("key-before-the-mark");
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual(await first.json());
  });
});
