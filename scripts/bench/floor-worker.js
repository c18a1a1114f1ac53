// The floor: the least a per-show Durable Object booking Worker can do. It parses the
// body and runs one SQLite INSERT in the show's object, nothing more: no validation,
// no holds, no audit log, no idempotency. `npm run bench` measures the project against it.
import { DurableObject } from "cloudflare:workers";

export class FloorShow extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS bookings (seat_id TEXT PRIMARY KEY, user_id TEXT)");
  }

  book(seatId, userId) {
    try {
      this.ctx.storage.sql.exec("INSERT INTO bookings (seat_id, user_id) VALUES (?, ?)", seatId, userId);
      return true;
    } catch {
      return false;
    }
  }
}

export default {
  async fetch(request, env) {
    // The load generator opens its connections with GETs before it starts the clock.
    if (request.method === "GET") return new Response("ok");
    const { show_id, seat_id, user_id } = await request.json();
    const booked = await env.FLOOR.getByName(String(show_id)).book(String(seat_id), user_id ?? null);
    return booked
      ? Response.json({ message: "Seat booked successfully" })
      : Response.json({ error: "Seat is already booked by another user" }, { status: 409 });
  },
};
