import { createExecutionContext, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import worker from "../src/index";
import type { Show } from "../src/show/show";

export const ADMIN_TOKEN = "test-admin-token";
export const BASE = "https://seats.test";
export const adminHeaders = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };

/**
 * A Durable Object namespace like `target` whose stubs count the calls they get, by method name,
 * in `calls`: for tests that check which objects a request reached.
 */
export function countingNamespace<N extends { getByName(name: string): object }>(
  target: N,
): { namespace: N; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const namespace = new Proxy(target, {
    get(namespaceTarget, property, receiver) {
      if (property !== "getByName") return Reflect.get(namespaceTarget, property, receiver);
      return (name: string) =>
        new Proxy(namespaceTarget.getByName(name), {
          get(stub, method, stubReceiver) {
            if (typeof method === "string") calls[method] = (calls[method] ?? 0) + 1;
            return Reflect.get(stub, method, stubReceiver);
          },
        });
    },
  });
  return { namespace, calls };
}

/**
 * A rate limiter that lets each key through `limit` times, and counts every call by key in `keys`:
 * deterministic, unlike a clock window. Pass it as a rate-limit binding (`as unknown as RateLimit`).
 */
export function countingLimiter(limit: number) {
  const seen = new Map<string, number>();
  return {
    keys: seen,
    async limit({ key }: { key: string }) {
      seen.set(key, (seen.get(key) ?? 0) + 1);
      return { success: seen.get(key)! <= limit };
    },
  };
}

/** An error as the platform raises it when a Durable Object call fails. */
export function platformError(message: string, flags: { retryable?: boolean; overloaded?: boolean }): Error {
  return Object.assign(new Error(message), flags);
}

/** Sends a request through the Worker's own fetch handler. */
export function call(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}${path}`, init));
}

/** Sends a request through the Worker with some of its environment replaced. */
export function withEnv(overrides: Partial<Env>, path: string, init: RequestInit = {}): Promise<Response> {
  const request = new Request(`${BASE}${path}`, init) as Request<unknown, IncomingRequestCfProperties>;
  return worker.fetch(request, { ...env, ...overrides }, createExecutionContext());
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

/**
 * A show no other test touches. Its order limit is the most the API allows, so that tests of
 * other things can hold or book as many seats at once as they like; the limit has tests of its own.
 */
export async function newShow(
  seats: number | (string | number)[] = 10,
  name = "Test show",
  maxSeatsPerOrder = 100,
): Promise<string> {
  const showId = `t-${crypto.randomUUID()}`;
  const response = await call(`/admin/shows/${showId}`, {
    method: "PUT",
    headers: adminHeaders,
    body: JSON.stringify({ name, seats, max_seats_per_order: maxSeatsPerOrder }),
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

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

export interface HoldBody {
  hold_id: string;
  hold_token: string;
  seat_ids: (string | number)[];
  expires_at: string;
}

export function createHold(
  showId: string,
  body: { seat_ids: (string | number)[]; user_id?: string; ttl_seconds?: number },
  headers: Record<string, string> = {},
) {
  return post(`/api/shows/${showId}/holds`, body, headers);
}

/** Creates a hold that must succeed, and returns its body. */
export async function holdSeats(showId: string, seatIds: (string | number)[], ttlSeconds?: number): Promise<HoldBody> {
  const response = await createHold(showId, { seat_ids: seatIds, ttl_seconds: ttlSeconds });
  expect(response.status).toBe(201);
  return response.json<HoldBody>();
}

/**
 * Sets the time a show's object reads from now on (ms since the epoch). The object
 * stays in memory between requests in a test, so the clock holds until it is evicted.
 */
export async function setClock(showId: string, now: number): Promise<void> {
  await runInDurableObject(showStub(showId), (show: Show) => {
    show.clock = () => now;
  });
}

/** A show's seat statuses, by seat id, through the public seat map. */
export async function statuses(showId: string): Promise<Record<string, string>> {
  const map = await (await call(`/api/shows/${showId}/seats`)).json<{ seats: { seat_id: string; status: string }[] }>();
  return Object.fromEntries(map.seats.map((seat) => [String(seat.seat_id), seat.status]));
}

/** Runs a SQL query inside a show's object. */
export function querySql<T extends Record<string, SqlStorageValue>>(
  showId: string,
  query: string,
  ...bindings: unknown[]
): Promise<T[]> {
  return runInDurableObject(showStub(showId), (_show, state) =>
    state.storage.sql.exec<T>(query, ...bindings).toArray(),
  );
}

/** The one category of a show made from a flat seat list, with its counts, as answers list it. */
export function general(total: number, available: number) {
  return [{ name: "General", color: "#2f6fb3", total, available }];
}

/**
 * A namespace like `namespace` whose first call of `method` reaches the object, but whose answer
 * reaches the caller only when `deliver` is called; `given` resolves once the object has answered.
 * Later calls are not held; `askedAgain` resolves when one is made. (A late answer, as the show's
 * calls and their answers travel apart.)
 */
export function lateFirstAnswer<N extends { getByName(name: string): object }>(namespace: N, method: string) {
  let deliver!: () => void;
  let answered!: () => void;
  let again!: () => void;
  const delivered = new Promise<void>((resolve) => (deliver = resolve));
  const given = new Promise<void>((resolve) => (answered = resolve));
  const askedAgain = new Promise<void>((resolve) => (again = resolve));
  let first = true;
  const late = {
    getByName: (name: string) =>
      new Proxy(namespace.getByName(name), {
        get(stub, property, receiver) {
          if (property !== method) return Reflect.get(stub, property, receiver);
          if (!first) {
            again();
            return Reflect.get(stub, property, receiver);
          }
          first = false;
          return async (...args: unknown[]) => {
            const answer = await (stub as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[method]!(
              ...args,
            );
            answered();
            await delivered;
            return answer;
          };
        },
      }),
  } as unknown as N;
  return { namespace: late, given, deliver, askedAgain };
}
