import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, adminHeaders, bearer, call, holdSeats, newShow, post, storedBookings } from "./helpers";

const REFUSED = { error: "Send tokens in the Authorization header, never in the URL" };

describe("tokens in the URL", () => {
  it.each(["token", "access_token", "admin_token", "Token", "ADMIN_TOKEN", "Hold_Token"])(
    "an admin request with ?%s= gets 401, even with a good header",
    async (name) => {
      const showId = await newShow(2);
      const response = await call(`/admin/shows/${showId}/log?${name}=${ADMIN_TOKEN}`, { headers: adminHeaders });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: "Send tokens in the Authorization header, never in the URL" });
    },
  );

  it("a token in the URL gets 401 on a path no route has, and with a method the route does not take", async () => {
    const unknown = await call("/api/nowhere?token=abc");
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toEqual(REFUSED);
    const showId = await newShow(2);
    const wrongMethod = await call(`/admin/shows/${showId}/log?admin_token=${ADMIN_TOKEN}`, { method: "DELETE" });
    expect(wrongMethod.status).toBe(401);
    expect(await wrongMethod.json()).toEqual(REFUSED);
  });

  it("a hold token in the URL gets 401 and confirms nothing", async () => {
    const showId = await newShow(2);
    const hold = await holdSeats(showId, [1]);
    const response = await call(`/api/holds/${hold.hold_id}/confirm?hold_token=${hold.hold_token}`, {
      method: "POST",
      headers: bearer(hold.hold_token),
    });
    expect(response.status).toBe(401);
    expect(await storedBookings(showId)).toEqual([]);
  });

  it("a route that needs no token refuses one in the URL too, and books nothing", async () => {
    const showId = await newShow(2);
    const booking = await post("/api/book-seat/?token=abc", { show_id: showId, seat_id: 1 });
    expect(booking.status).toBe(401);
    expect(await booking.json()).toEqual(REFUSED);
    expect(await storedBookings(showId)).toEqual([]);

    const map = await call(`/api/shows/${showId}/seats?Access_Token=x`);
    expect(map.status).toBe(401);
    expect(await map.json()).toEqual(REFUSED);
  });

  it("a queue ticket's token in the URL gets 401, gives no pass and does not leave the queue", async () => {
    const showId = await newShow(2);
    const opensAt = new Date(Date.now() + 3_600_000).toISOString();
    const settings = { opens_at: opensAt, admit_per_minute: 60, session_minutes: 10 };
    const room = await call(`/admin/shows/${showId}/waiting-room`, {
      method: "PUT",
      headers: adminHeaders,
      body: JSON.stringify(settings),
    });
    expect(room.status).toBe(201);
    const joined = await call(`/api/shows/${showId}/queue`, { method: "POST" });
    expect(joined.status).toBe(201);
    const { ticket_id: id, ticket_token: token } = await joined.json<{ ticket_id: string; ticket_token: string }>();

    const polled = await call(`/api/queue/${id}?ticket_token=${token}`, { headers: bearer(token) });
    expect(polled.status).toBe(401);
    expect(await polled.json()).toEqual(REFUSED);
    const left = await call(`/api/queue/${id}?Ticket_Token=${token}`, { method: "DELETE", headers: bearer(token) });
    expect(left.status).toBe(401);
    // Still in the queue: leaving it properly works once.
    const leftProperly = await call(`/api/queue/${id}`, { method: "DELETE", headers: bearer(token) });
    expect(leftProperly.status).toBe(200);
  });
});
