import { describe, expect, it } from "vitest";
import { bookSeat, newShow, storedBookings } from "./helpers";

/** Counts each status in a set of responses. */
function tally(statuses: number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

describe("simultaneous bookings through the Worker", () => {
  it("200 requests for one seat: exactly one 200, 199 409s, exactly one stored row", async () => {
    const showId = await newShow(50);
    const responses = await Promise.all(Array.from({ length: 200 }, (_, i) => bookSeat(showId, 7, `buyer-${i}`)));
    expect(tally(responses.map((r) => r.status))).toEqual({ 200: 1, 409: 199 });

    const winner = responses.find((r) => r.status === 200)!;
    const { booking } = await winner.json<{ booking: { user_id: string } }>();
    expect(await storedBookings(showId)).toEqual([{ seat_id: "7", user_id: booking.user_id }]);
    for (const loser of responses.filter((r) => r.status === 409)) {
      expect(await loser.json()).toEqual({
        error: "Seat is already booked by another user",
        show_id: showId,
        seat_id: 7,
      });
    }
  });

  it("many seats across several shows at once: every seat booked exactly once", async () => {
    const shows = await Promise.all([newShow(12), newShow(12), newShow(12), newShow(12)]);
    const attemptsPerSeat = 5;
    const attempts = shows.flatMap((showId) =>
      Array.from({ length: 12 * attemptsPerSeat }, (_, i) => ({ showId, seat: (i % 12) + 1, user: `u${i}` })),
    );
    // Shuffle so that requests for one seat are interleaved with every other seat's.
    attempts.sort(() => Math.random() - 0.5);
    const responses = await Promise.all(attempts.map((a) => bookSeat(a.showId, a.seat, a.user)));
    expect(tally(responses.map((r) => r.status))).toEqual({ 200: 4 * 12, 409: 4 * 12 * (attemptsPerSeat - 1) });

    for (const showId of shows) {
      const rows = await storedBookings(showId);
      expect(rows.map((row) => Number(row.seat_id)).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 12 }, (_, i) => i + 1),
      );
    }
  });
});
