import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";

export const ADMIN_TOKEN = "test-admin-token";
export const BASE = "https://seats.test";
export const adminHeaders = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };

/** Sends a request through the Worker's own fetch handler. */
export function call(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}${path}`, init));
}

export function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return call(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export function bookSeat(showId: string | number, seatId: string | number, userId?: string | number) {
  return post("/api/book-seat/", { show_id: showId, seat_id: seatId, user_id: userId });
}

/** A show no other test touches. */
export async function newShow(seats: number | (string | number)[] = 10, name = "Test show"): Promise<string> {
  const showId = `t-${crypto.randomUUID()}`;
  const response = await call(`/admin/shows/${showId}`, {
    method: "PUT",
    headers: adminHeaders,
    body: JSON.stringify({ name, seats }),
  });
  expect(response.status).toBe(201);
  return showId;
}

export function showStub(showId: string) {
  return env.SHOW.getByName(showId);
}

/** Rows in a show's bookings table, read inside the object itself. */
export async function storedBookings(showId: string): Promise<{ seat_id: string; user_id: string | null }[]> {
  return runInDurableObject(showStub(showId), (_instance, state) =>
    state.storage.sql
      .exec<{ seat_id: string; user_id: string | null }>("SELECT seat_id, user_id FROM bookings ORDER BY seat_id")
      .toArray(),
  );
}
