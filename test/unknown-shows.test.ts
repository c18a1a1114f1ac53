import { listDurableObjectIds } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { forgetShows } from "../src/routes/directory";
import {
  adminHeaders,
  BASE,
  bearer,
  call,
  countingLimiter,
  countingNamespace,
  newShow,
  post,
  withEnv,
} from "./helpers";

describe("shows that do not exist", () => {
  it("answer 404 on every route and leave no database behind: 100 requests, no new show storage", async () => {
    const before = (await listDurableObjectIds(env.SHOW)).length;
    const statuses = new Set<number>();
    const nobody = () => `ghost-${crypto.randomUUID().slice(0, 12)}`;
    for (let i = 0; i < 10; i++) {
      const requests = [
        call(`/api/shows/${nobody()}/seats`),
        call(`/api/shows/${nobody()}/live`, { headers: { upgrade: "websocket" } }),
        post("/api/book-seat/", { show_id: nobody(), seat_id: 1 }),
        post(`/api/shows/${nobody()}/bookings`, { seat_ids: [1] }),
        post(`/api/shows/${nobody()}/holds`, { seat_ids: [1] }),
        call(`/api/holds/${nobody()}.AAAAAAAAAAAAAAAAAAAAAA`, { method: "DELETE", headers: bearer("ht_x") }),
        call(`/api/bookings/${nobody()}.AAAAAAAAAAAAAAAAAAAAAA`, { method: "DELETE", headers: bearer("bt_x") }),
        call(`/admin/shows/${nobody()}/log`, { headers: adminHeaders }),
        call(`/admin/shows/${nobody()}/bookings`, { method: "DELETE", headers: adminHeaders }),
        post(`/admin/shows/${nobody()}/seats/block`, { seat_ids: [1], reason: "x" }, adminHeaders),
      ];
      for (const response of await Promise.all(requests)) statuses.add(response.status);
    }
    expect([...statuses]).toEqual([404]);
    expect((await listDurableObjectIds(env.SHOW)).length).toBe(before);
  });

  it("cost the catalog a lookup each, charged to the client's rate limit; known shows are never charged", async () => {
    const known = await newShow(5);
    const { namespace: catalog, calls } = countingNamespace(env.CATALOG);
    const limiter = countingLimiter(5);
    const allowance = limiter.keys;
    const overrides = { RATE_LIMITING: "on", BOOKING_RATE_LIMITER: limiter as unknown as RateLimit, CATALOG: catalog };
    const read = (showId: string, ip: string) =>
      withEnv(overrides, `/api/shows/${showId}/seats`, { headers: { "cf-connecting-ip": ip } });

    const flood = [];
    for (let i = 0; i < 20; i++) flood.push((await read(`made-up-${crypto.randomUUID()}`, "203.0.113.66")).status);
    expect(flood).toEqual([...Array(5).fill(404), ...Array(15).fill(429)]);
    expect(calls.exists).toBe(5);
    expect(allowance.get("203.0.113.66")).toBe(20);
    // The flooding address is out of allowance, yet its reads of a show the isolate knows still pass,
    // uncharged, and another address is served as before.
    expect((await read(known, "203.0.113.66")).status).toBe(200);
    expect(allowance.get("203.0.113.66")).toBe(20);
    expect((await read(`made-up-${crypto.randomUUID()}`, "198.51.100.20")).status).toBe(404);
    expect(calls.exists).toBe(6);

    // A route that is rate limited anyway (a hold) spends one request, not two, on a lookup.
    const hold = (showId: string) =>
      withEnv(overrides, `/api/shows/${showId}/holds`, {
        method: "POST",
        headers: { "cf-connecting-ip": "192.0.2.44", "content-type": "application/json" },
        body: JSON.stringify({ seat_ids: [1] }),
      });
    expect((await hold(`made-up-${crypto.randomUUID()}`)).status).toBe(404);
    expect(allowance.get("192.0.2.44")).toBe(1);
    expect(calls.exists).toBe(7);
    // An admin route for a made-up show spends one too (the admin token is right; the show is not).
    const admin = await withEnv(overrides, `/admin/shows/made-up-${crypto.randomUUID()}/log`, {
      headers: { ...adminHeaders, "cf-connecting-ip": "192.0.2.45" },
    });
    expect(admin.status).toBe(404);
    expect(allowance.get("192.0.2.45")).toBe(1);
  });

  it("cost the catalog one question for a crowd meeting a show in a cold isolate, and none in the next one there", async () => {
    const showId = await newShow(20);
    const { namespace: catalog, calls } = countingNamespace(env.CATALOG);
    const book = (seat: number) =>
      withEnv({ CATALOG: catalog }, "/api/book-seat/", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ show_id: showId, seat_id: seat }),
      });
    forgetShows();
    const crowd = await Promise.all(Array.from({ length: 10 }, (_, i) => book(i + 1)));
    expect(crowd.map((response) => response.status)).toEqual(Array(10).fill(200));
    expect(calls.exists).toBe(1);

    // The yes is kept in the location's cache (written behind the answer), for the isolates there.
    const cache = await caches.open("shows");
    for (let tries = 0; !(await cache.match(`https://seats.test/api/shows/${showId}`)); tries++) {
      expect(tries).toBeLessThan(100);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    forgetShows();
    expect((await book(11)).status).toBe(200);
    expect(calls.exists).toBe(1);
  });
});

describe("the location's yes for a show", () => {
  it("a filtered seat map in a cold isolate uses the location's cached yes, as an unfiltered one does", async () => {
    const showId = await newShow(4);
    // The location's cache has the yes (another isolate there met the show).
    const cache = await caches.open("shows");
    await cache.put(
      `${BASE}/api/shows/${showId}`,
      new Response("1", { headers: { "cache-control": "max-age=31536000" } }),
    );
    const { namespace: catalog, calls } = countingNamespace(env.CATALOG);
    forgetShows();
    const unfiltered = await withEnv({ CATALOG: catalog }, `/api/shows/${showId}/seats`);
    expect(unfiltered.status).toBe(200);
    expect(calls.exists ?? 0, "unfiltered read").toBe(0);
    forgetShows();
    const filtered = await withEnv({ CATALOG: catalog }, `/api/shows/${showId}/seats?category=General`);
    expect(filtered.status).toBe(200);
    expect(calls.exists ?? 0, "filtered read").toBe(0);
  });
});
