// The audited floor: the floor (floor-worker.js) plus what issue #10 says every booking keeps, and
// nothing else. The booking gets an id and a booking token, returned once, of which only the
// SHA-256 is stored; an audit row records the seat's change in the same transaction. Still no
// validation, holds, idempotency or live updates. `npm run bench` prints it beside the floor, so
// that the project's CPU per booking can be read against what those two things cost by themselves.
import { DurableObject } from "cloudflare:workers";

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

export class FloorShow extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS bookings (
        id TEXT PRIMARY KEY, seat_id TEXT NOT NULL UNIQUE, user_id TEXT, booked_at INTEGER NOT NULL, token_hash TEXT
      );
      CREATE TABLE IF NOT EXISTS audit_log (
        seq INTEGER PRIMARY KEY, seat_id TEXT NOT NULL, old_status TEXT NOT NULL, new_status TEXT NOT NULL,
        actor TEXT NOT NULL, route TEXT NOT NULL, ref TEXT, at INTEGER NOT NULL
      );`);
  }

  async book(seatId, userId) {
    const token = `bt_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(24))))}`;
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token)));
    const hash = Array.from(digest, (byte) => HEX[byte]).join("");
    const id = crypto.randomUUID();
    const at = Date.now();
    const { sql } = this.ctx.storage;
    try {
      this.ctx.storage.transactionSync(() => {
        sql.exec(
          "INSERT INTO bookings (id, seat_id, user_id, booked_at, token_hash) VALUES (?, ?, ?, ?, ?)",
          id,
          seatId,
          userId,
          at,
          hash,
        );
        sql.exec(
          `INSERT INTO audit_log (seat_id, old_status, new_status, actor, route, ref, at)
           VALUES (?, 'available', 'booked', 'anonymous', 'POST /api/book-seat/', ?, ?)`,
          seatId,
          id,
          at,
        );
      });
    } catch {
      return null;
    }
    return { id, seat_id: seatId, user_id: userId, booked_at: new Date(at).toISOString(), booking_token: token };
  }
}

export default {
  async fetch(request, env) {
    // The load generator opens its connections with GETs before it starts the clock.
    if (request.method === "GET") return new Response("ok");
    const { show_id, seat_id, user_id } = await request.json();
    const booking = await env.FLOOR.getByName(String(show_id)).book(String(seat_id), user_id ?? null);
    return booking
      ? Response.json({ message: "Seat booked successfully", booking })
      : Response.json({ error: "Seat is already booked by another user" }, { status: 409 });
  },
};
