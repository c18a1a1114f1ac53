import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { compressible, gzipped, madeCopy } from "../src/routes/seat-map-cache";
import {
  adminHeaders,
  BASE,
  bookSeat,
  countingLimiter,
  countingNamespace,
  newShow,
  platformError,
  withEnv,
  lateFirstAnswer,
} from "./helpers";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A SHOW namespace that counts the calls that reach an object, by method. A seat map is composed
 * by the Worker from the statuses (`statusesJson`) and the layout's frame (`seatFrame`), so
 * `reads` counts the statuses reads.
 */
function countingShows() {
  const { namespace, calls } = countingNamespace(env.SHOW);
  return {
    namespace,
    counter: {
      calls,
      get reads() {
        return calls.statusesJson ?? 0;
      },
    },
  };
}

afterEach(() => vi.restoreAllMocks());

const cached = (extra: Partial<Env> = {}) => ({ SEAT_MAP_MAX_AGE_SECONDS: "1", ...extra });

describe("GET /api/shows/:show_id/seats", () => {
  it("carries an ETag of the layout and the last change, and answers If-None-Match with 304", async () => {
    const showId = await newShow(3);
    const first = await withEnv({}, `/api/shows/${showId}/seats`);
    expect(first.headers.get("etag")).toBe('"1.0"');
    expect(first.headers.get("cache-control")).toBe("no-cache");
    const again = await withEnv({}, `/api/shows/${showId}/seats`, { headers: { "if-none-match": '"1.0"' } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    expect(again.headers.get("etag")).toBe('"1.0"');
    await bookSeat(showId, 2);
    const changed = await withEnv({}, `/api/shows/${showId}/seats`, { headers: { "if-none-match": '"1.0"' } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).toBe('"1.1"');
    expect(await changed.json()).toMatchObject({ counts: { booked: 1 } });
  });

  it("never serves a copy from the location's cache older than the staleness bound, whatever the cache keeps", async () => {
    const showId = await newShow(3);
    await bookSeat(showId, 2);
    // A copy from before the booking, 10 s old, that the cache was told to keep for an hour.
    const old = JSON.stringify({ show_id: showId, layout: 1, version: 0, statuses: "aaa", categories: [], zones: [] });
    const headers = { etag: '"1.0"', "cache-control": "max-age=3600", "x-stored-at": String(Date.now() - 10_000) };
    await (await caches.open("seat-maps")).put(`${BASE}/api/shows/${showId}/statuses`, new Response(old, { headers }));
    const { namespace, counter } = countingShows();
    const response = await withEnv(cached({ SHOW: namespace }), `/api/shows/${showId}/statuses`);
    expect(response.headers.get("etag")).toBe('"1.1"');
    expect(await response.json()).toMatchObject({ version: 1, statuses: "aba" });
    expect(counter.reads).toBe(1);
  });

  it("200 simultaneous readers cost the show's object one read, and all get the same map", async () => {
    const showId = await newShow(50);
    await bookSeat(showId, 7);
    const { namespace, counter } = countingShows();
    const overrides = cached({ SHOW: namespace });
    const responses = await Promise.all(
      Array.from({ length: 200 }, () => withEnv(overrides, `/api/shows/${showId}/seats`)),
    );
    const bodies = new Set(await Promise.all(responses.map((response) => response.text())));
    expect(responses.every((response) => response.status === 200)).toBe(true);
    expect(bodies.size).toBe(1);
    expect(counter.calls).toEqual({ statusesJson: 1, seatFrame: 1 });
    // Composed by the Worker, the map is the one the show itself builds.
    const own = await env.SHOW.getByName(showId).seatMapJson();
    expect([...bodies][0]).toBe((own as { json: string }).json);
  });

  it("serves a map from copies the location's cache has without asking the catalog, even while the catalog is down", async () => {
    // A show this isolate has never seen, whose statuses and frame the location's cache holds (as another isolate left them).
    const showId = `t-${crypto.randomUUID()}`;
    const statuses = JSON.stringify({
      show_id: showId,
      layout: 1,
      version: 0,
      statuses: "ab",
      categories: [{ name: "General", color: "#888", total: 2, available: 1 }],
      zones: [{ name: "Hall", total: 2, available: 1 }],
    });
    const frame = JSON.stringify({
      show_id: showId,
      layout: 1,
      name: "Cached",
      seat_ids: [1, "A2"],
      seat_categories: [0, 0],
      seat_zones: [0, 0],
      categories: ["General"],
      zones: ["Hall"],
    });
    const stored = (etag: string) => ({ etag, "cache-control": "max-age=1", "x-stored-at": String(Date.now()) });
    const cache = await caches.open("seat-maps");
    await cache.put(`${BASE}/api/shows/${showId}/statuses`, new Response(statuses, { headers: stored('"1.0"') }));
    await cache.put(`${BASE}/api/shows/${showId}/frame?layout=1`, new Response(frame, { headers: stored('"1"') }));
    const map = JSON.stringify({
      show_id: showId,
      name: "Cached",
      seats: [
        { seat_id: 1, status: "available" },
        { seat_id: "A2", status: "booked" },
      ],
      counts: { total: 2, available: 1, held: 0, booked: 1, blocked: 0 },
      categories: [{ name: "General", color: "#888", total: 2, available: 1 }],
    });
    const down = {
      getByName() {
        throw Object.assign(new Error("Network connection lost"), { retryable: true });
      },
    };
    const response = await withEnv(
      cached({ CATALOG: down as unknown as Env["CATALOG"] }),
      `/api/shows/${showId}/seats`,
    );
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(map);
  });

  it("answers with the show's own map when the layout changed after the statuses copy was made", async () => {
    const showId = await newShow(3);
    const put = await withEnv({}, `/admin/shows/${showId}`, {
      method: "PUT",
      headers: adminHeaders,
      body: JSON.stringify({ name: "Bigger", seats: 4 }),
    });
    expect(put.status).toBe(200);
    // A copy of the statuses at layout 1, as another isolate left it in the location's cache.
    const old = JSON.stringify({ show_id: showId, layout: 1, version: 0, statuses: "aaa", categories: [], zones: [] });
    const headers = { etag: '"1.0"', "cache-control": "max-age=1", "x-stored-at": String(Date.now()) };
    await (await caches.open("seat-maps")).put(`${BASE}/api/shows/${showId}/statuses`, new Response(old, { headers }));
    const { namespace, counter } = countingShows();
    const response = await withEnv(cached({ SHOW: namespace }), `/api/shows/${showId}/seats`);
    expect(response.status).toBe(200);
    // The show refused the frame of a layout it no longer has, and built its current map itself.
    expect(counter.calls).toEqual({ seatFrame: 1, seatMapJson: 1 });
    const own = await env.SHOW.getByName(showId).seatMapJson();
    expect(await response.text()).toBe((own as { json: string }).json);
    expect(response.headers.get("etag")).toBe((own as { etag: string }).etag);
    // While that copy of the statuses lasts, its readers get the show's map without asking again.
    const again = await withEnv(cached({ SHOW: namespace }), `/api/shows/${showId}/seats`);
    expect(await again.text()).toBe((own as { json: string }).json);
    expect(counter.calls).toEqual({ seatFrame: 1, seatMapJson: 1 });
  });

  it("reads a layout's frame once even while copies are off, since a frame never goes stale", async () => {
    const showId = await newShow(4);
    const { namespace, counter } = countingShows();
    const off = { SHOW: namespace, SEAT_MAP_MAX_AGE_SECONDS: "0" };
    expect((await withEnv(off, `/api/shows/${showId}/seats`)).status).toBe(200);
    await bookSeat(showId, 2);
    const fresh = await withEnv(off, `/api/shows/${showId}/seats`);
    expect((await fresh.json<{ counts: { booked: number } }>()).counts.booked).toBe(1);
    expect(counter.calls).toEqual({ statusesJson: 2, seatFrame: 1 });
  });

  it("composes from a frame too large for an isolate to keep, parsed once a layout: the show builds no map", async () => {
    const showId = await newShow(3);
    // The show's own frame for layout 1, grown past 4 MB, as another isolate might have left it in
    // the location's cache: the isolate cannot keep it as JSON, so it keeps it parsed instead.
    const frame = (await env.SHOW.getByName(showId).seatFrame(1)) as { ok: true; json: string };
    const huge = JSON.stringify({ ...JSON.parse(frame.json), padding: "x".repeat(4 * 1024 * 1024) });
    const headers = { etag: '"1"', "cache-control": "max-age=3600", "x-stored-at": String(Date.now()) };
    const cache = await caches.open("seat-maps");
    const frameKey = `${BASE}/api/shows/${showId}/frame?layout=1`;
    await cache.put(frameKey, new Response(huge, { headers }));
    const { namespace, counter } = countingShows();
    for (const seat of [1, 2]) {
      await bookSeat(showId, seat);
      const response = await withEnv({ SHOW: namespace, SEAT_MAP_MAX_AGE_SECONDS: "0" }, `/api/shows/${showId}/seats`);
      const own = (await env.SHOW.getByName(showId).seatMapJson()) as { json: string };
      expect(await response.text()).toBe(own.json);
      // Parsed once: gone from the location's cache, it is not read again at this layout.
      await cache.delete(frameKey);
    }
    expect(counter.calls).toEqual({ statusesJson: 2 });
  });

  it("serves the show's map when the show cannot give a frame (an object still on an older version)", async () => {
    const showId = await newShow(3);
    const errors: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: unknown) => void errors.push(String(line)));
    const older = {
      getByName: (name: string) => {
        const stub = env.SHOW.getByName(name);
        return new Proxy(stub, {
          get: (target, method, receiver) =>
            method === "seatFrame"
              ? () => Promise.reject(new TypeError('The RPC receiver does not implement the method "seatFrame".'))
              : Reflect.get(target, method, receiver),
        });
      },
    };
    const response = await withEnv({ SHOW: older as unknown as Env["SHOW"] }, `/api/shows/${showId}/seats`);
    expect(response.status).toBe(200);
    const own = (await env.SHOW.getByName(showId).seatMapJson()) as { json: string };
    expect(await response.text()).toBe(own.json);
    expect(JSON.parse(errors[0]!)).toMatchObject({ message: "seat map frame unavailable", show_id: showId });
  });

  it("is at most the configured age: a change shows once the copy is older than that", async () => {
    const showId = await newShow(5);
    const { namespace, counter } = countingShows();
    const overrides = cached({ SHOW: namespace });
    const read = async () =>
      (await withEnv(overrides, `/api/shows/${showId}/seats`)).json<{ counts: { booked: number } }>();
    expect((await read()).counts.booked).toBe(0);
    await bookSeat(showId, 1);
    // Within the second, the copy is served; the object is not asked again.
    expect((await read()).counts.booked).toBe(0);
    expect(counter.reads).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await read()).counts.booked).toBe(1);
    expect(counter.reads).toBe(2);
    // The frame changes only with the layout: it was read once.
    expect(counter.calls.seatFrame).toBe(1);
  });
});

describe("the staleness bound, when the show's answer is slow to arrive", () => {
  /** A SHOW namespace whose first statuses answer reaches the Worker late (see `lateFirstAnswer`). */
  const slowFirstStatuses = () => lateFirstAnswer(env.SHOW, "statusesJson");
  const booked = async (response: Response) =>
    (await response.json<{ statuses: string }>()).statuses.split("b").length - 1;

  it("counts a copy's age from when it was asked for, not from when it arrived", async () => {
    const showId = await newShow(3);
    const slow = slowFirstStatuses();
    const overrides = cached({ SHOW: slow.namespace });
    const first = withEnv(overrides, `/api/shows/${showId}/statuses`);
    await slow.given;
    const bookedAt = Date.now();
    expect((await bookSeat(showId, 2)).status).toBe(200);
    // The first answer arrives only after the staleness bound has passed since the booking.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1100 - (Date.now() - bookedAt))));
    slow.deliver();
    expect(await booked(await first)).toBe(0);
    expect(await booked(await withEnv(overrides, `/api/shows/${showId}/statuses`))).toBe(1);
  });

  it("shares no read while copies are off: a read that starts after a booking shows it", async () => {
    const showId = await newShow(3);
    const slow = slowFirstStatuses();
    const overrides = { SEAT_MAP_MAX_AGE_SECONDS: "0", SHOW: slow.namespace };
    const first = withEnv(overrides, `/api/shows/${showId}/statuses`);
    await slow.given;
    expect((await bookSeat(showId, 2)).status).toBe(200);
    const after = withEnv(overrides, `/api/shows/${showId}/statuses`);
    // The later read asks the show itself; one that joined the first read would never ask, and get
    // the first's answer once it arrives (half a second on).
    await Promise.race([slow.askedAgain, new Promise((resolve) => setTimeout(resolve, 500))]);
    slow.deliver();
    expect(await booked(await first)).toBe(0);
    expect(await booked(await after)).toBe(1);
  });
});

describe("compressed reads", () => {
  const gunzip = async (response: Response) =>
    new Response(response.body!.pipeThrough(new DecompressionStream("gzip"))).text();

  it("gives a client that accepts gzip the copy's gzip form, which holds exactly the JSON others get", async () => {
    const showId = await newShow(2000);
    await bookSeat(showId, 17);
    const overrides = cached();
    const plain = await withEnv(overrides, `/api/shows/${showId}/seats`);
    const zipped = await withEnv(overrides, `/api/shows/${showId}/seats`, {
      headers: { "accept-encoding": "br, gzip" },
    });
    expect(plain.headers.get("content-encoding")).toBeNull();
    expect(zipped.headers.get("content-encoding")).toBe("gzip");
    expect(zipped.headers.get("vary")).toBe("accept-encoding");
    expect(zipped.headers.get("etag")).toBe(`W/${plain.headers.get("etag")}`);
    const json = await plain.text();
    const bytes = new Uint8Array(await zipped.clone().arrayBuffer());
    // A 2,000-seat map of one repeated shape compresses to a small part of its size.
    expect(bytes.byteLength).toBeLessThan(json.length / 5);
    expect(await gunzip(zipped)).toBe(json);
    expect(JSON.parse(json)).toMatchObject({ counts: { total: 2000, booked: 1 } });
  });

  it("compresses a copy once: every reader of it gets the same gzip form", () => {
    const copy = {
      body: new TextEncoder().encode('{"statuses":"aaaa"}'),
      etag: '"1.0"',
      freshUntil: Date.now() + 1000,
    };
    const form = gzipped(copy);
    expect(gzipped(copy)).toBe(form);
    expect(compressible(copy)).toBe(true);
    // A copy too large for an isolate to keep is not compressed here at all.
    expect(compressible({ ...copy, body: new Uint8Array(4 * 1024 * 1024 + 1) })).toBe(false);
  });

  it("makes a copy from another once per source copy, with its tag and freshness, and none too large to keep", () => {
    const source = (etag: string) => ({
      body: new TextEncoder().encode("{}"),
      etag,
      freshUntil: Date.now() + 1000,
    });
    const path = `/test/${crypto.randomUUID()}`;
    const first = source('"1.0"');
    let made = 0;
    const make = () => `{"made":${++made}}`;
    const copy = madeCopy(path, first, make)!;
    expect(madeCopy(path, first, make)).toBe(copy);
    expect(made).toBe(1);
    expect({ etag: copy.etag, freshUntil: copy.freshUntil }).toEqual({ etag: '"1.0"', freshUntil: first.freshUntil });
    const next = madeCopy(path, source('"1.1"'), make)!;
    expect(new TextDecoder().decode(next.body)).toBe('{"made":2}');
    expect(next.etag).toBe('"1.1"');
    expect(madeCopy(`${path}/large`, first, () => "x".repeat(4 * 1024 * 1024 + 1))).toBeNull();
  });

  it("tags the gzip form with the weak ETag; either tag gets 304, and gzip;q=0 or identity get plain JSON", async () => {
    const showId = await newShow(300);
    const overrides = cached();
    const read = (encoding: string, headers: Record<string, string> = {}) =>
      withEnv(overrides, `/api/shows/${showId}/statuses`, { headers: { "accept-encoding": encoding, ...headers } });
    const zipped = await read("gzip");
    expect(zipped.headers.get("etag")).toBe('W/"1.0"');
    const plain = await read("identity");
    expect(plain.headers.get("etag")).toBe('"1.0"');
    for (const tag of ['W/"1.0"', '"1.0"']) {
      const again = await read("gzip", { "if-none-match": tag });
      expect(again.status).toBe(304);
      expect(again.headers.get("vary")).toBe("accept-encoding");
    }
    for (const encoding of ["gzip;q=0", "identity", "br", "gzip;q=0, *"]) {
      const response = await read(encoding);
      expect(response.headers.get("content-encoding"), encoding).toBeNull();
      expect(await response.json()).toMatchObject({ statuses: "a".repeat(300), version: 0 });
    }
    expect((await read("*")).headers.get("content-encoding")).toBe("gzip");
  });
});

describe("filtered seat maps and plans", () => {
  it("refuses a made-up category or zone from the shared copies, and composes every filter from them", async () => {
    const showId = await newShow(20);
    const { namespace, counter } = countingShows();
    const overrides = cached({ SHOW: namespace });
    const madeUp = await Promise.all(
      Array.from({ length: 50 }, (_, i) => withEnv(overrides, `/api/shows/${showId}/seats?category=made-up-${i}`)),
    );
    expect(madeUp.map((response) => response.status)).toEqual(Array(50).fill(404));
    expect(await madeUp[7]!.json()).toEqual({
      error: "This show's plan has no category 'made-up-7'",
      show_id: showId,
      field: "category",
    });
    // One shared read of the statuses and one of the layout's frame told the Worker every name the plan has.
    expect(counter.calls).toEqual({ statusesJson: 1, seatFrame: 1 });
    const general = await withEnv(overrides, `/api/shows/${showId}/seats?category=General&zone=Hall`);
    expect(general.status).toBe(200);
    expect((await general.json<{ seats: unknown[] }>()).seats).toHaveLength(20);
    // A filtered map is composed from the same two copies: the show is not asked again.
    expect(counter.calls).toEqual({ statusesJson: 1, seatFrame: 1 });
  });

  it("a plan leaves the show once per layout version, and a new layout is served at once", async () => {
    const showId = await newShow(30);
    const { namespace, counter } = countingShows();
    const overrides = cached({ SHOW: namespace });
    const read = () => withEnv(overrides, `/api/shows/${showId}/plan`);
    const first = await Promise.all(Array.from({ length: 20 }, read));
    expect(first.map((response) => response.headers.get("etag"))).toEqual(Array(20).fill('"1"'));
    expect(counter.calls.plan).toBe(1);
    const notModified = await withEnv(overrides, `/api/shows/${showId}/plan`, { headers: { "if-none-match": '"1"' } });
    expect(notModified.status).toBe(304);
    expect(counter.calls.plan).toBe(1);

    const put = await withEnv({}, `/admin/shows/${showId}`, {
      method: "PUT",
      headers: adminHeaders,
      body: JSON.stringify({ name: "Bigger", seats: 40 }),
    });
    expect(put.status).toBe(200);
    // The statuses copy lives a second; after that the new layout's plan is read, once.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = await Promise.all(Array.from({ length: 20 }, read));
    expect(second.map((response) => response.headers.get("etag"))).toEqual(Array(20).fill('"2"'));
    expect(counter.calls.plan).toBe(2);
    const { plan } = await second[0]!.json<{ plan: { name: string } }>();
    expect(plan.name).toBe("Bigger");
  });
});

/** The SHOW namespace, with each stub's `statusesJson` replaced by what `replace` makes of the stub. */
function replacingStatuses(
  replace: (stub: ReturnType<Env["SHOW"]["getByName"]>) => () => Promise<unknown>,
): Env["SHOW"] {
  const getByName = (name: string) =>
    new Proxy(env.SHOW.getByName(name), {
      get: (stub, method, receiver) =>
        method === "statusesJson" ? replace(stub) : Reflect.get(stub, method, receiver),
    });
  return { getByName } as unknown as Env["SHOW"];
}

describe("copies of a slow or overloaded object", () => {
  it("costs a show whose statuses read is slower than the wait one more read, not one per reader", async () => {
    const showId = await newShow(10);
    const calls = { statusesJson: 0 };
    const slow = replacingStatuses((stub) => async () => {
      calls.statusesJson++;
      const answer = await stub.statusesJson();
      await sleep(2500); // a show busy selling answers slowly
      return answer;
    });
    const overrides = { SEAT_MAP_MAX_AGE_SECONDS: "1", SHOW: slow };
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => withEnv(overrides, `/api/shows/${showId}/statuses`)),
    );
    expect(responses.every((response) => response.status === 200)).toBe(true);
    expect(calls.statusesJson).toBeLessThanOrEqual(2);
  }, 20_000);

  it("gives an overloaded show's 503 to every reader waiting on its read, which asks it once", async () => {
    const showId = await newShow(10);
    let statusesCalls = 0;
    const overloaded = replacingStatuses(() => async () => {
      statusesCalls++;
      await sleep(50); // the refusal takes a moment to come back
      throw platformError("Durable Object is overloaded", { overloaded: true });
    });
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        withEnv({ SEAT_MAP_MAX_AGE_SECONDS: "1", SHOW: overloaded }, `/api/shows/${showId}/seats`),
      ),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(20).fill(503));
    expect(statusesCalls).toBe(1);
  });

  it("gives an overloaded catalog's 503 to every reader of the list waiting on its read, which asks it once", async () => {
    let pageCalls = 0;
    const busyCatalog = {
      getByName: () => ({
        page: async () => {
          pageCalls++;
          await sleep(50);
          throw platformError("Durable Object is overloaded", { overloaded: true });
        },
      }),
    } as unknown as Env["CATALOG"];
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        withEnv({ SEAT_MAP_MAX_AGE_SECONDS: "1", CATALOG: busyCatalog }, "/api/shows?limit=200"),
      ),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(20).fill(503));
    expect(pageCalls).toBe(1);
  });
});

/** Statuses and a frame in the location's cache for a show this isolate has never seen, whose map is > 4 MB. */
async function largeShowInLocationCache() {
  const showId = `t-${crypto.randomUUID()}`;
  const n = 90_000;
  const seat_ids = Array.from({ length: n }, (_, i) => `S${String(i).padStart(20, "0")}`);
  const statuses = JSON.stringify({
    show_id: showId,
    layout: 1,
    version: 0,
    statuses: "a".repeat(n),
    categories: [{ name: "General", color: "#888", total: n, available: n }],
    zones: [{ name: "Hall", total: n, available: n }],
  });
  const frame = JSON.stringify({
    show_id: showId,
    layout: 1,
    name: "Big",
    seat_ids,
    seat_categories: Array(n).fill(0),
    seat_zones: Array(n).fill(0),
    categories: ["General"],
    zones: ["Hall"],
  });
  const stored = (etag: string, maxAge: number) => ({
    etag,
    "cache-control": `max-age=${maxAge}`,
    "x-stored-at": String(Date.now()),
  });
  const cache = await caches.open("seat-maps");
  await cache.put(`${BASE}/api/shows/${showId}/statuses`, new Response(statuses, { headers: stored('"1.0"', 5) }));
  await cache.put(`${BASE}/api/shows/${showId}/frame?layout=1`, new Response(frame, { headers: stored('"1"', 3600) }));
  return showId;
}

describe("a map too large to keep, composed from the location's copies", () => {
  it("is served without asking the catalog, even while the catalog is down (as a small map is)", async () => {
    const showId = await largeShowInLocationCache();
    let asked = 0;
    const down = {
      getByName() {
        asked++;
        throw Object.assign(new Error("Network connection lost"), { retryable: true });
      },
    };
    const response = await withEnv(
      { SEAT_MAP_MAX_AGE_SECONDS: "5", CATALOG: down as unknown as Env["CATALOG"] },
      `/api/shows/${showId}/seats`,
    );
    expect(response.status, (await response.clone().text()).slice(0, 200)).toBe(200);
    expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(4 * 1024 * 1024);
    expect(asked).toBe(0);
  });

  it("is not refused to a client over its budget (a copy can answer it: no lookup, no charge)", async () => {
    const showId = await largeShowInLocationCache();
    // Refuses everyone, and says whom it was asked about.
    const limiter = countingLimiter(0);
    const response = await withEnv(
      { SEAT_MAP_MAX_AGE_SECONDS: "5", RATE_LIMITING: "on", BOOKING_RATE_LIMITER: limiter as unknown as RateLimit },
      `/api/shows/${showId}/seats`,
      { headers: { "cf-connecting-ip": "192.0.2.201" } },
    );
    expect(response.status, (await response.clone().text()).slice(0, 200)).toBe(200);
    expect([...limiter.keys.keys()]).toEqual([]);
  });
});
