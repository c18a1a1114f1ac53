import { describe, expect, it } from "vitest";
import { forgetShows } from "../src/routes/directory";
import { call, countingLimiter, newShow, statuses, withEnv } from "./helpers";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const REFUSED = {
  error:
    "A page of another site may not change anything here: call the API from your own server, or use this site's page",
};

/** A request as a page on `from` would make it in its visitor's browser: a "simple" one, which no preflight stops. */
function fromPage(path: string, provenance: Record<string, string>, init: RequestInit = {}) {
  return call(path, { ...init, headers: { ...provenance, ...(init.headers as Record<string, string>) } });
}

const simplePost = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "content-type": "text/plain" },
  body: JSON.stringify(body),
});

describe("a page of another site, in its visitor's browser", () => {
  it("may not book, hold or join a queue: 403, and nothing changes", async () => {
    const showId = await newShow(4);
    const crossSite: Record<string, string>[] = [
      { "sec-fetch-site": "cross-site", origin: "https://evil.example" },
      // An older browser says only where the page is.
      { origin: "https://evil.example" },
      { origin: "null" },
    ];
    for (const provenance of crossSite) {
      const requests = [
        fromPage("/api/book-seat/", provenance, simplePost({ show_id: showId, seat_id: 1 })),
        fromPage(`/api/shows/${showId}/bookings`, provenance, simplePost({ seat_ids: [2] })),
        fromPage(`/api/shows/${showId}/holds`, provenance, simplePost({ seat_ids: [3] })),
        fromPage(`/api/shows/${showId}/queue`, provenance, { method: "POST" }),
        fromPage(`/api/shows/${showId}/live`, provenance, { headers: { upgrade: "websocket" } }),
      ];
      for (const response of await Promise.all(requests)) {
        expect(response.status).toBe(403);
        expect(await response.json()).toEqual(REFUSED);
      }
    }
    expect(await statuses(showId)).toEqual({ 1: "available", 2: "available", 3: "available", 4: "available" });
    // Reading is what any page may do.
    const read = await fromPage(`/api/shows/${showId}/seats`, crossSite[0]!);
    expect(read.status).toBe(200);
  });

  it("may not spend its visitor's rate limit on reads that cost one: 403 for those, and the visitor still books", async () => {
    const showId = await newShow(4);
    const limiter = countingLimiter(3);
    const spent = limiter.keys;
    const on = { RATE_LIMITING: "on", BOOKING_RATE_LIMITER: limiter as unknown as RateLimit };
    const visitor = "203.0.113.57";
    const fromOtherSite = { "sec-fetch-site": "cross-site", "cf-connecting-ip": visitor };
    const costly = [
      `/api/shows/${showId}/seats?category=General`,
      `/api/shows/made-up-${crypto.randomUUID()}/statuses`,
      `/api/shows?limit=7`,
      `/api/shows/${showId}/seats?zone=Hall`,
    ];
    for (const path of costly) {
      const answer = await withEnv(on, path, { headers: fromOtherSite });
      expect(answer.status, path).toBe(403);
    }
    // The document lists that 403 on every read that may answer it.
    type Doc = { paths: Record<string, { get: { responses: Record<string, unknown> } }> };
    const doc = await (await call("/openapi.json")).json<Doc>();
    for (const path of ["/api/shows", "/api/shows/{show_id}/seats", "/api/shows/{show_id}/statuses"]) {
      expect(doc.paths[path]!.get.responses["403"], path).toBeDefined();
    }
    for (const path of ["/api/shows/{show_id}/plan", "/api/shows/{show_id}/waiting-room"]) {
      expect(doc.paths[path]!.get.responses["403"], path).toBeDefined();
      const made = `/api/shows/made-up-${crypto.randomUUID()}/${path.split("/").at(-1)}`;
      expect((await withEnv(on, made, { headers: fromOtherSite })).status, made).toBe(403);
    }
    // What costs nothing stays open to any page.
    expect((await withEnv(on, `/api/shows/${showId}/seats`, { headers: fromOtherSite })).status).toBe(200);
    expect(spent.get(visitor)).toBeUndefined();
    const booking = await withEnv(on, "/api/book-seat/", {
      method: "POST",
      headers: { "sec-fetch-site": "same-origin", "cf-connecting-ip": visitor },
      body: JSON.stringify({ show_id: showId, seat_id: 1 }),
    });
    expect(booking.status).toBe(200);
  });

  it("is told apart from this site's page, a sibling site and clients that are not browsers, which all book", async () => {
    const showId = await newShow(4);
    const allowed: Record<string, string>[] = [
      { "sec-fetch-site": "same-origin", origin: "https://seats.test" },
      { "sec-fetch-site": "same-site", origin: "https://www.seats.test" },
      { "sec-fetch-site": "none" },
      { origin: "https://seats.test" },
      // A script, Postman or a server: the old system's clients.
      {},
    ];
    for (const [seat, provenance] of allowed.entries()) {
      const response = await fromPage("/api/book-seat/", provenance, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ show_id: showId, seat_id: (seat % 4) + 1 }),
      });
      expect(response.status, JSON.stringify(provenance)).toBe(seat < 4 ? 200 : 409);
    }
  });
});

describe("every JSON answer", () => {
  it("tells browsers not to read it as anything but JSON, errors and seat maps alike", async () => {
    const showId = await newShow(2);
    const answers = [
      await call(`/api/nope/%3Cscript%3E`),
      await call(`/api/shows/${showId}/seats`),
      await call(`/api/shows/${showId}/seats`, { headers: { "accept-encoding": "gzip" } }),
      await call("/api/shows"),
      await call("/openapi.json"),
    ];
    for (const answer of answers) {
      expect(answer.headers.get("content-type")).toBe("application/json");
      expect(answer.headers.get("x-content-type-options")).toBe("nosniff");
    }
  });
});

describe("a read shared in an isolate", () => {
  it("gives a reader waiting on another client's read none of that client's own refusals: a 429 is the client's alone", async () => {
    const showId = await newShow(10);
    const limited: string[] = [];
    // Address 192.0.2.1 has spent its budget; 192.0.2.2 has not. The limiter answers after a moment.
    const limiter = {
      async limit({ key }: { key: string }) {
        limited.push(key);
        await sleep(200);
        return { success: key !== "192.0.2.1" };
      },
    } as unknown as RateLimit;
    const overrides = { RATE_LIMITING: "on", SEAT_MAP_MAX_AGE_SECONDS: "1", BOOKING_RATE_LIMITER: limiter };
    forgetShows(); // a cold isolate: the show must be looked up, on the reader's budget
    const abuser = withEnv(overrides, `/api/shows/${showId}/statuses`, {
      headers: { "cf-connecting-ip": "192.0.2.1" },
    });
    await sleep(50);
    const innocent = withEnv(overrides, `/api/shows/${showId}/statuses`, {
      headers: { "cf-connecting-ip": "192.0.2.2" },
    });
    const [a, b] = await Promise.all([abuser, innocent]);
    expect(a.status).toBe(429);
    // Each paid for its own lookup of the show; only the one over its budget was refused.
    expect(limited.sort()).toEqual(["192.0.2.1", "192.0.2.2"]);
    expect(b.status, await b.clone().text()).toBe(200);
  });

  it("gives a same-site reader waiting on a cross-site page's read none of that page's 403", async () => {
    const showId = await newShow(10);
    const overrides = { RATE_LIMITING: "on", SEAT_MAP_MAX_AGE_SECONDS: "1" };
    forgetShows();
    const foreign = withEnv(overrides, `/api/shows/${showId}/statuses`, {
      headers: { "sec-fetch-site": "cross-site" },
    });
    const own = withEnv(overrides, `/api/shows/${showId}/statuses`, { headers: { "sec-fetch-site": "same-origin" } });
    const [a, b] = await Promise.all([foreign, own]);
    expect(a.status).toBe(403);
    expect(b.status, await b.clone().text()).toBe(200);
  });

  it("answers a burst of reads of a show that does not exist at once, not one reader after another", async () => {
    const showId = `no-such-show-${crypto.randomUUID()}`;
    let questions = 0;
    // The catalog, answering "no such show" after 300 ms.
    const CATALOG = {
      getByName: () => ({
        exists: async () => {
          questions++;
          await sleep(300);
          return false;
        },
      }),
    } as unknown as Env["CATALOG"];
    const overrides = { SEAT_MAP_MAX_AGE_SECONDS: "1", CATALOG };
    const started = Date.now();
    const reads = Array.from({ length: 8 }, (_, i) =>
      withEnv(overrides, `/api/shows/${showId}/statuses`, { headers: { "cf-connecting-ip": `192.0.2.${100 + i}` } }),
    );
    expect((await Promise.all(reads)).map((response) => response.status)).toEqual(Array(8).fill(404));
    // A "no" is not shared (a show created meanwhile must not be refused): each reader asks once
    // more, all together after the first answer, not in a chain of eight.
    expect(questions).toBeLessThanOrEqual(8);
    expect(Date.now() - started).toBeLessThan(8 * 300);
  });

  it("starts a reader's own read at once behind a throttled client's reads, which never hold it up", async () => {
    const showId = await newShow(10);
    const charged: { key: string; at: number }[] = [];
    // 192.0.2.66 is over its budget; the limiter answers after 400 ms.
    const limiter = {
      async limit({ key }: { key: string }) {
        charged.push({ key, at: Date.now() });
        await sleep(400);
        return { success: key !== "192.0.2.66" };
      },
    } as unknown as RateLimit;
    const overrides = { RATE_LIMITING: "on", SEAT_MAP_MAX_AGE_SECONDS: "1", BOOKING_RATE_LIMITER: limiter };
    forgetShows(); // a cold isolate: each read must look the show up, on its reader's budget
    const abuse = Array.from({ length: 8 }, () =>
      withEnv(overrides, `/api/shows/${showId}/statuses`, { headers: { "cf-connecting-ip": "192.0.2.66" } }),
    );
    await sleep(20);
    const arrived = Date.now();
    const innocent = await withEnv(overrides, `/api/shows/${showId}/statuses`, {
      headers: { "cf-connecting-ip": "192.0.2.7" },
    });
    expect(innocent.status).toBe(200);
    expect((await Promise.all(abuse)).map((response) => response.status)).toEqual(Array(8).fill(429));
    const own = charged.find((charge) => charge.key === "192.0.2.7")!;
    expect(own.at - arrived).toBeLessThan(200);
  });
});
