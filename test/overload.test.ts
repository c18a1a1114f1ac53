import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import { MAX_ATTEMPTS } from "../src/routes/stubs";
import { BASE, newShow, platformError } from "./helpers";

/** A real show, so that the Worker's check that it exists passes before the failing stub is called. */
let s: string;
beforeAll(async () => {
  s = await newShow(2);
});

/**
 * A SHOW namespace whose stubs fail with the given errors, one per call, then succeed;
 * it counts how many stubs were asked for.
 */
function failingShows(errors: Error[]) {
  let calls = 0;
  const namespace = {
    stubs: 0,
    getByName() {
      namespace.stubs++;
      return {
        book: async () => {
          const error = errors[calls++];
          if (error) throw error;
          return {
            ok: true,
            bookings: [{ id: `${s}.x`, show_id: s, seat_id: 1, user_id: null, booked_at: "t", booking_token: "bt_x" }],
          };
        },
      };
    },
  };
  return namespace;
}

/** A booking through the Worker, with an Idempotency-Key when `key` is given. */
async function bookThrough(namespace: ReturnType<typeof failingShows>, key?: string): Promise<Response> {
  const request = new Request(`${BASE}/api/book-seat/`, {
    method: "POST",
    body: JSON.stringify({ show_id: s, seat_id: 1 }),
    headers: key === undefined ? {} : { "idempotency-key": key },
  });
  return worker.fetch(
    request as Request<unknown, IncomingRequestCfProperties>,
    { ...env, SHOW: namespace as unknown as Env["SHOW"] },
    createExecutionContext(),
  );
}

describe("when a show's object fails", () => {
  it("an overloaded object gets 503 with Retry-After at once, and is not retried", async () => {
    const shows = failingShows([platformError("Durable Object is overloaded", { overloaded: true, retryable: false })]);
    const response = await bookThrough(shows);
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(await response.json()).toEqual({
      error: "This show is receiving more requests than it can handle; retry shortly",
      show_id: s,
    });
    expect(shows.stubs).toBe(1);
  });

  it("a retryable error on a booking with an Idempotency-Key is retried with a new stub each time, and the retry's answer is used", async () => {
    const shows = failingShows([
      platformError("Network connection lost", { retryable: true }),
      platformError("Durable Object reset because its code was updated", { retryable: true }),
    ]);
    const response = await bookThrough(shows, crypto.randomUUID());
    expect(response.status).toBe(200);
    expect(shows.stubs).toBe(3);
  });

  it(`gives up on a keyed booking after ${MAX_ATTEMPTS} calls with a 503`, async () => {
    const shows = failingShows(
      Array.from({ length: 10 }, () => platformError("Network connection lost", { retryable: true })),
    );
    const response = await bookThrough(shows, crypto.randomUUID());
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(shows.stubs).toBe(MAX_ATTEMPTS);
  });

  it("never sends a booking without a key twice: a retryable error is a 503 saying the booking may have been made", async () => {
    // The reply may have been lost after the seat was sold: a second call would answer this buyer 409.
    const shows = failingShows([platformError("Network connection lost", { retryable: true })]);
    const response = await bookThrough(shows);
    expect(response.status).toBe(503);
    // No Retry-After: a client that obeys it would send the unkeyed booking again.
    expect(response.headers.get("retry-after")).toBeNull();
    expect(await response.json()).toEqual({
      error:
        "This show did not answer, and the change may or may not have been made; check before trying again, or send an Idempotency-Key so that a retry is safe",
      show_id: s,
    });
    expect(shows.stubs).toBe(1);
  });

  it("any other error is a generic 500 that reveals nothing, and is not retried", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const shows = failingShows([new Error("SQLITE_CORRUPT: secret detail at /var/lib/do/xyz")]);
    const response = await bookThrough(shows);
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ error: "Internal server error" });
    expect(text).not.toContain("SQLITE");
    expect(shows.stubs).toBe(1);
    expect(logged).toHaveBeenCalledOnce();
    logged.mockRestore();
  });
});
