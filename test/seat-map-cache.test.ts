import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { bookSeat, newShow, withEnv } from "./helpers";

/** A SHOW namespace that counts the seat-map reads that reach an object. */
function countingShows() {
  const counter = { reads: 0 };
  const namespace = new Proxy(env.SHOW, {
    get(target, property, receiver) {
      if (property !== "getByName") return Reflect.get(target, property, receiver);
      return (name: string) =>
        new Proxy(target.getByName(name), {
          get(stub, method, stubReceiver) {
            if (method === "seatMapJson") counter.reads++;
            return Reflect.get(stub, method, stubReceiver);
          },
        });
    },
  });
  return { namespace, counter };
}

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
    expect(counter.reads).toBe(1);
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
  });
});
