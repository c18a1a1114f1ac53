import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { Catalog } from "../src/catalog/catalog";
import {
  adminHeaders,
  bookSeat,
  call,
  countingNamespace,
  general,
  newShow,
  platformError,
  post,
  showStub,
  withEnv,
} from "./helpers";

interface Page {
  shows: { show_id: string | number; name: string; capacity: number; available: number }[];
  next_cursor: string | null;
}

async function page(query = ""): Promise<Page> {
  const response = await call(`/api/shows${query}`);
  expect(response.status).toBe(200);
  return response.json<Page>();
}

/** Every show, following next_cursor from the first page. */
async function everyShow(limit: number): Promise<Page["shows"]> {
  const shows: Page["shows"] = [];
  let cursor: string | null = null;
  do {
    const next: Page = await page(`?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    expect(next.shows.length).toBeLessThanOrEqual(limit);
    shows.push(...next.shows);
    cursor = next.next_cursor;
  } while (cursor !== null);
  return shows;
}

const catalog = () => env.CATALOG.getByName(Catalog.NAME);

describe("GET /api/shows", () => {
  it("pages through every show exactly once, in the order they were made", async () => {
    const made: string[] = [];
    for (let i = 0; i < 23; i++) made.push(await newShow(2, `Paged ${i}`));
    const listed = (await everyShow(7)).map((show) => String(show.show_id));
    expect(new Set(listed).size).toBe(listed.length);
    expect(listed.filter((id) => made.includes(id))).toEqual(made);
  });

  it("gives 50 shows a page unless asked, at most 200, and refuses other limits and foreign cursors", async () => {
    for (let i = 0; i < 3; i++) await newShow(1);
    expect((await page()).shows.length).toBeLessThanOrEqual(50);
    for (const bad of ["?limit=0", "?limit=201", "?limit=ten", "?cursor=not-a-cursor", "?cursor=1.bad%20id"]) {
      const response = await call(`/api/shows${bad}`);
      expect(response.status, bad).toBe(400);
    }
  });

  it("is answered by the catalog alone: no show's object is called", async () => {
    await newShow(3, "Counted");
    let calls = 0;
    const counting = new Proxy(env.SHOW, {
      get(target, property, receiver) {
        if (property === "getByName" || property === "get" || property === "idFromName") calls++;
        return Reflect.get(target, property, receiver);
      },
    });
    const response = await withEnv({ SHOW: counting }, "/api/shows?limit=200");
    expect(response.status).toBe(200);
    expect((await response.json<Page>()).shows.length).toBeGreaterThan(0);
    expect(calls).toBe(0);
  });

  it("serves a crowd of readers from one read of the catalog per page while copies are on", async () => {
    await newShow(2, "Shared");
    const { namespace, calls } = countingNamespace(env.CATALOG);
    const overrides = { SEAT_MAP_MAX_AGE_SECONDS: "1", CATALOG: namespace };
    const query = "?limit=37"; // copies are off in every other test, so none is held for this page
    const responses = await Promise.all(Array.from({ length: 100 }, () => withEnv(overrides, `/api/shows${query}`)));
    expect(responses.map((response) => response.status)).toEqual(Array(100).fill(200));
    const bodies = new Set(await Promise.all(responses.map((response) => response.text())));
    expect(bodies.size).toBe(1);
    expect(JSON.parse([...bodies][0]!)).toEqual(await (await call(`/api/shows${query}`)).json());
    expect(calls).toEqual({ page: 1 });
  });

  it("counts every page but the first at the default or the largest size against the client's rate limit", async () => {
    await newShow(1);
    await newShow(1);
    const { next_cursor: cursor } = await page("?limit=1");
    expect(cursor).not.toBeNull();
    let allowed = 2;
    const limiter = { limit: async () => ({ success: allowed-- > 0 }) };
    const on = { RATE_LIMITING: "on", BOOKING_RATE_LIMITER: limiter as unknown as RateLimit };
    const read = (query: string) =>
      withEnv(on, `/api/shows${query}`, { headers: { "cf-connecting-ip": "203.0.113.8" } });
    const later = [];
    for (let i = 0; i < 3; i++) later.push((await read(`?limit=1&cursor=${encodeURIComponent(cursor!)}`)).status);
    expect(later).toEqual([200, 200, 429]);
    // Each size of first page is a read of its own too; only the default one is free.
    expect((await read("?limit=1")).status).toBe(429);
    expect((await read("?limit=199")).status).toBe(429);
    expect((await read("")).status).toBe(200);
    expect((await read("?limit=50")).status).toBe(200);
    expect((await read("?limit=200")).status).toBe(200);
  });

  it("answers 503 with Retry-After while the catalog is overloaded", async () => {
    const overloaded = platformError("Durable Object is overloaded", { overloaded: true });
    const busyCatalog = {
      getByName: () => ({
        page: () => Promise.reject(overloaded),
      }),
    } as unknown as Env["CATALOG"];
    const response = await withEnv({ CATALOG: busyCatalog }, "/api/shows");
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(await response.json()).toEqual({ error: "The list of shows is briefly unavailable; retry shortly" });
  });

  it("shows a booking once the show's alarm has told the catalog, which it sets for a second later", async () => {
    const showId = await newShow(4, "Pushed");
    const before = Date.now();
    expect((await bookSeat(showId, 1)).status).toBe(200);
    const alarm = await runInDurableObject(showStub(showId), (_show, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThanOrEqual(before);
    expect(alarm).toBeLessThanOrEqual(Date.now() + 1000);
    const listed = async () => (await everyShow(200)).find((show) => show.show_id === showId);
    expect(await listed()).toMatchObject({ available: 4 });
    expect(await runDurableObjectAlarm(showStub(showId))).toBe(true);
    const categories = general(4, 3);
    expect(await listed()).toEqual({ show_id: showId, name: "Pushed", capacity: 4, available: 3, categories });
  });

  it("a booking reaches the list though the show restarted before its push, and its first call then cleared no alarm", async () => {
    const showId = await newShow(4, "Restarted");
    await runDurableObjectAlarm(showStub(showId)); // the creation's push: 4 free, and no alarm left
    expect((await bookSeat(showId, 1)).status).toBe(200);
    // The object stops (a deploy, an eviction) before its alarm pushes, and wakes for a retry that
    // the seat is taken refuses, under an Idempotency-Key (which sets the alarm for what is due).
    await evictDurableObject(showStub(showId));
    const retry = await post(
      "/api/book-seat/",
      { show_id: showId, seat_id: 1 },
      { "idempotency-key": crypto.randomUUID() },
    );
    expect(retry.status).toBe(409);
    expect(await runDurableObjectAlarm(showStub(showId))).toBe(true);
    expect((await everyShow(200)).find((show) => show.show_id === showId)?.available).toBe(3);
  });

  it("a burst of bookings sets the alarm once: the catalog hears of them in one push", async () => {
    const showId = await newShow(30);
    const alarms = new Set<number | null>();
    for (let seat = 1; seat <= 20; seat++) {
      await bookSeat(showId, seat);
      alarms.add(await runInDurableObject(showStub(showId), (_show, state) => state.storage.getAlarm()));
    }
    expect(alarms.size).toBe(1);
    await runDurableObjectAlarm(showStub(showId));
    expect((await everyShow(200)).find((show) => show.show_id === showId)?.available).toBe(10);
  });

  it("keeps a newer summary when an older one arrives late", async () => {
    const showId = await newShow(4, "Ordered");
    const categories = [{ name: "General", color: "#2f6fb3", total: 4, available: 2 }];
    const current = { showId, name: "Ordered", capacity: 4, available: 2, categories, layout: 1, version: 5 };
    await catalog().updateSummary(current);
    await catalog().updateSummary({ ...current, available: 4, version: 3 });
    await catalog().updateSummary({ ...current, name: "Old layout", layout: 0, version: 9 });
    expect((await everyShow(200)).find((show) => show.show_id === showId)).toMatchObject({ available: 2 });
  });

  it("fills in, on the catalog's alarm, the summaries of shows listed before summaries were kept", async () => {
    const showId = await newShow(5, "From before");
    await bookSeat(showId, 2);
    await runInDurableObject(catalog(), (_catalog, state) => {
      state.storage.sql.exec(
        "UPDATE shows SET name = '', capacity = 0, available = 0, categories = '[]', layout = 0, version = 0 WHERE show_id = ?",
        showId,
      );
    });
    // Listing a show with no summary sets the catalog's alarm, which asks the show for one.
    expect((await everyShow(200)).find((show) => show.show_id === showId)).toMatchObject({ name: "" });
    expect(await runDurableObjectAlarm(catalog())).toBe(true);
    expect((await everyShow(200)).find((show) => show.show_id === showId)).toEqual({
      show_id: showId,
      name: "From before",
      capacity: 5,
      available: 4,
      categories: general(5, 4),
    });
  });

  it("lists a show whose registration failed as the PUT answered, on the show's alarm a second later", async () => {
    const showId = `t-${crypto.randomUUID()}`;
    const lost = platformError("Network connection lost.", { retryable: true });
    const unreachable = {
      getByName: () =>
        new Proxy(catalog(), {
          get: (stub, method, receiver) =>
            method === "register" ? () => Promise.reject(lost) : Reflect.get(stub, method, receiver),
        }),
    } as unknown as Env["CATALOG"];
    const made = await withEnv({ CATALOG: unreachable }, `/admin/shows/${showId}`, {
      method: "PUT",
      headers: adminHeaders,
      body: JSON.stringify({ name: "Unlisted", seats: 3 }),
    });
    expect(made.status).toBe(503);
    expect(made.headers.get("retry-after")).toBe("1");
    expect(await made.json()).toEqual({
      error:
        "The show was saved, but the list of shows did not answer; the show is listed within seconds, and repeating this request is safe",
      show_id: showId,
    });
    expect(await catalog().exists(showId)).toBe(false);
    expect((await call(`/api/shows/${showId}/seats`)).status).toBe(404);

    const alarm = await runInDurableObject(showStub(showId), (_show, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    expect(await runDurableObjectAlarm(showStub(showId))).toBe(true);
    expect(await catalog().exists(showId)).toBe(true);
    expect((await everyShow(200)).find((show) => show.show_id === showId)).toEqual({
      show_id: showId,
      name: "Unlisted",
      capacity: 3,
      available: 3,
      categories: general(3, 3),
    });
    expect((await bookSeat(showId, 1)).status).toBe(200);
  });

  it("lists shows made in one millisecond in the order they were made, so a cursor never stands past a new one", async () => {
    const frozen = Date.now();
    const now = vi.spyOn(Date, "now").mockReturnValue(frozen);
    const suffix = crypto.randomUUID();
    const [m, z, a] = ["m", "z", "a"].map((name) => `zz-${name}-${suffix}`) as [string, string, string];
    const put = (showId: string) =>
      call(`/admin/shows/${showId}`, {
        method: "PUT",
        headers: adminHeaders,
        body: JSON.stringify({ name: showId, seats: 1 }),
      });
    try {
      for (const showId of [m, z]) expect((await put(showId)).status).toBe(201);
      // A client pages one show at a time up to m; a (whose id sorts first) is made after.
      let cursor: string | null = null;
      for (;;) {
        const next: Page = await page(`?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
        cursor = next.next_cursor;
        if (next.shows[0]?.show_id === m) break;
        expect(cursor).not.toBeNull();
      }
      expect((await put(a)).status).toBe(201);
      const rest: string[] = [];
      while (cursor !== null) {
        const next: Page = await page(`?limit=200&cursor=${encodeURIComponent(cursor)}`);
        rest.push(...next.shows.map((show) => String(show.show_id)));
        cursor = next.next_cursor;
      }
      expect(rest.filter((showId) => showId.endsWith(suffix))).toEqual([z, a]);
    } finally {
      now.mockRestore();
    }
  });

  it("renaming a show through the admin route shows in the list at once", async () => {
    const showId = await newShow(2, "First name");
    const renamed = await call(`/admin/shows/${showId}`, {
      method: "PUT",
      headers: adminHeaders,
      body: JSON.stringify({ name: "Second name", seats: 2 }),
    });
    expect(renamed.status).toBe(200);
    expect((await everyShow(200)).find((show) => show.show_id === showId)?.name).toBe("Second name");
  });
});
