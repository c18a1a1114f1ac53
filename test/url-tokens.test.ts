import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createRouter } from "../src/routes";
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

describe("a URL, before the router reads it", () => {
  it("over 2 KiB gets 414 before the router reads its query string, which costs the square of a name's repeats", async () => {
    const request = new Request(`https://seats.test/api/book-seat?${"=1&".repeat(10_900)}`);
    const response = await createRouter().fetch(request, env, createExecutionContext());
    expect(response.status).toBe(414);
    expect(await response.json()).toEqual({ error: "The URL must not exceed 2048 bytes", limit_bytes: 2048 });
    // itty-router sets `query` on the request when it reads the query string.
    expect("query" in request).toBe(false);
  });

  it("with a token in it gets 401 even when it is over 2 KiB too", async () => {
    const response = await call(`/healthz?token=abc&pad=${"x".repeat(2100)}`);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual(REFUSED);
  });

  it("with a query parameter given twice gets 400 whichever of its values is empty", async () => {
    for (const query of ["limit=5&limit=", "limit=&limit=5", "limit=5&limit=5"]) {
      const response = await call(`/api/shows?${query}`);
      expect(response.status, query).toBe(400);
      expect(await response.json()).toEqual({
        error: "limit must be a whole number from 1 to 200; optional, 50 by default",
        field: "limit",
      });
    }
  });
});
