/**
 * A crash in the middle of an on-sale: bookings burst against `wrangler dev` with storage
 * persisted to disk, the whole process group (wrangler and workerd) is killed with SIGKILL,
 * and a new `wrangler dev` opens the same storage. Every booking that got a 200 must still be
 * there, and no seat may have been sold twice.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, startDevServer, type DevServer } from "../../scripts/lib/dev-server.ts";

const TOKEN = "crash-test-token";
const SHOWS = ["crash-a", "crash-b"];
const SEATS = 300;
const admin = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };

let stateDir: string;
let server: DevServer | undefined;

afterAll(async () => {
  await server?.stop("SIGKILL");
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

async function start(): Promise<DevServer> {
  return startDevServer({ port: await freePort(), adminToken: TOKEN, persistTo: stateDir });
}

describe("SIGKILL in the middle of a burst of bookings", () => {
  it("loses no booking that got a 200 and sells no seat twice", async () => {
    stateDir = await mkdtemp(join(tmpdir(), "seat-booking-crash-"));
    server = await start();
    for (const show of SHOWS) {
      const created = await fetch(`${server.url}/admin/shows/${show}`, {
        method: "PUT",
        headers: admin,
        body: JSON.stringify({ name: show, seats: SEATS }),
      });
      expect(created.status).toBe(201);
    }

    // 40 buyers, two for every seat, book until the server dies under them.
    const won = new Map<string, string>();
    let next = 0;
    let killed = false;
    const url = server.url;
    const buyer = async () => {
      for (;;) {
        const i = next++;
        if (i >= SHOWS.length * SEATS * 2) return;
        const show = SHOWS[i % 2]!;
        const seat = Math.floor(i / 4) + 1;
        let status: number;
        let body: { booking?: { id: string } };
        try {
          const response = await fetch(`${url}/api/book-seat/`, {
            method: "POST",
            body: JSON.stringify({ show_id: show, seat_id: seat, user_id: `buyer-${i}` }),
          });
          status = response.status;
          body = (await response.json()) as typeof body;
        } catch {
          return; // The server is gone, mid-request or mid-answer.
        }
        if (status === 200) {
          const booking = body.booking!;
          const key = `${show}/${seat}`;
          expect(won.has(key), `${key} got two 200s`).toBe(false);
          won.set(key, booking.id);
        }
        if (won.size >= 150 && !killed) {
          killed = true;
          await server!.stop("SIGKILL");
        }
      }
    };
    await Promise.all(Array.from({ length: 40 }, buyer));
    expect(killed).toBe(true);
    expect(won.size).toBeGreaterThanOrEqual(150);

    server = await start();
    for (const show of SHOWS) {
      const log = await fetch(`${server.url}/admin/shows/${show}/log?limit=500`, { headers: admin });
      const { entries, next_after } = (await log.json()) as {
        entries: { seat_id: number; new_status: string; ref: string }[];
        next_after: number | null;
      };
      expect(next_after).toBeNull();
      const bookedRefs = new Map<number, string[]>();
      for (const entry of entries.filter((e) => e.new_status === "booked")) {
        bookedRefs.set(entry.seat_id, [...(bookedRefs.get(entry.seat_id) ?? []), entry.ref]);
      }
      // No seat was booked twice...
      for (const [seat, refs] of bookedRefs) expect(refs, `seat ${seat} of ${show}`).toHaveLength(1);
      // ...and every 200 is there, under the booking id its buyer was given.
      const map = (await (await fetch(`${server.url}/api/shows/${show}/seats`)).json()) as {
        seats: { seat_id: number; status: string }[];
      };
      const status = new Map(map.seats.map((s) => [s.seat_id, s.status]));
      for (const [key, bookingId] of won) {
        const [wonShow, seat] = key.split("/");
        if (wonShow !== show) continue;
        expect(status.get(Number(seat)), key).toBe("booked");
        expect(bookedRefs.get(Number(seat)), key).toEqual([bookingId]);
      }
    }
  });
});
