import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { arenaPlan, type Plan } from "../scripts/venues/arena";
import { MAX_SEATS } from "../src/contract/plan";
import { forgetFrames } from "../src/routes/seat-map-compose";
import { MAX_PLAN_BODY_BYTES } from "../src/contract/operations";
import { PLAN_PART_CHARS } from "../src/show/queries";
import { LAYOUT_RULES } from "../src/show/seating";
import { layoutFromPlan } from "../src/venue/layout";
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { Show } from "../src/show/show";
import {
  BASE,
  adminHeaders,
  bearer,
  bookSeat,
  call,
  countingNamespace,
  holdSeats,
  post,
  querySql,
  showStub,
  statuses,
  withEnv,
} from "./helpers";

/** Creates a show from a plan, which must be accepted; returns its id. */
async function planShow(plan: unknown, name = "Planned show"): Promise<string> {
  const showId = `t-${crypto.randomUUID()}`;
  const response = await putPlan(showId, plan, name);
  expect(response.status, await response.clone().text()).toBe(201);
  return showId;
}

function putPlan(showId: string, plan: unknown, name = "Planned show", extra: object = {}): Promise<Response> {
  return call(`/admin/shows/${showId}`, {
    method: "PUT",
    headers: adminHeaders,
    body: JSON.stringify({ name, plan, max_seats_per_order: 20, ...extra }),
  });
}

/** Every seat of a plan in plan order: zones, rows, seats. */
function seatsOf(plan: Plan) {
  return plan.zones.flatMap((zone) =>
    zone.rows.flatMap((row) => row.seats.map((seat) => ({ ...seat, zone: zone.name, row: row.row_number }))),
  );
}

/** A small plan: two zones, two categories, a stage. */
function smallPlan(): Plan {
  const seat = (guid: string, number: string, x: number, category: string) => ({
    seat_guid: guid,
    seat_number: number,
    position: { x, y: 0 },
    category,
  });
  return {
    name: "Small hall",
    size: { width: 200, height: 200 },
    categories: [
      { name: "Front", color: "#aa0000" },
      { name: "Back", color: "#0000aa" },
    ],
    zones: [
      {
        name: "Stalls",
        position: { x: 20, y: 60 },
        areas: [{ position: { x: 0, y: -50 }, width: 160, height: 30, text: "Stage" }],
        rows: [
          {
            row_number: "A",
            position: { x: 0, y: 0 },
            seats: [seat("s-a1", "1", 0, "Front"), seat("s-a2", "2", 20, "Front")],
          },
          {
            row_number: "B",
            position: { x: 0, y: 30 },
            seats: [seat("s-b1", "1", 0, "Back"), seat("s-b2", "2", 20, "Back")],
          },
        ],
      },
      {
        name: "Circle",
        position: { x: 20, y: 150 },
        rows: [{ row_number: "AA", seats: [seat("c-1", "1", 0, "Back"), seat("c-2", "2", 20, "Back")] }],
      },
    ],
  };
}

describe("importing a seating plan", () => {
  it("imports a plan with the keys pretix's editor adds, keeping the seats in plan order and dropping the keys", async () => {
    const plan = arenaPlan({ seats: 300, zones: 3, editorKeys: true });
    const showId = await planShow(plan);
    const response = await call(`/api/shows/${showId}/plan`);
    expect(response.status).toBe(200);
    expect(response.headers.get("etag")).toBe('"1"');
    const served = await response.json<{ show_id: string; layout: number; plan: Plan }>();
    expect(served.layout).toBe(1);
    expect(seatsOf(served.plan).map((seat) => seat.seat_guid)).toEqual(seatsOf(plan).map((seat) => seat.seat_guid));
    const text = JSON.stringify(served.plan);
    for (const editorKey of ["uuid", "row_label", "radius", "row_number_position", "seats_spacing", "displayed"]) {
      expect(text).not.toContain(`"${editorKey}"`);
    }
    expect(served.plan.zones.map((zone) => zone.name)).toEqual(["Zone 1", "Zone 2", "Zone 3"]);
    expect(await querySql(showId, "SELECT COUNT(*) AS n FROM seats")).toEqual([{ n: 300 }]);
  });

  it("names a zone without a name 'Zone N', unless the plan calls another zone that", async () => {
    const plan = smallPlan();
    const [stalls, circle] = plan.zones as [Plan["zones"][number], Plan["zones"][number]];
    const showId = await planShow({
      ...plan,
      zones: [
        { ...stalls, name: "" },
        { ...circle, name: "Zone 1" },
      ],
    });
    const served = await (await call(`/api/shows/${showId}/plan`)).json<{ plan: Plan }>();
    expect(served.plan.zones.map((zone) => zone.name)).toEqual(["Zone 1 (2)", "Zone 1"]);
    const statuses = await (await call(`/api/shows/${showId}/statuses`)).json<{ zones: { name: string }[] }>();
    expect(statuses.zones.map((zone) => zone.name)).toEqual(["Zone 1 (2)", "Zone 1"]);
  });

  it("imports a plan of 100,000 seats, the most a show may have, and refuses one seat more by its path", async () => {
    const plan = arenaPlan({ seats: MAX_SEATS, zones: 6, editorKeys: true });
    const body = JSON.stringify({ name: "Stadium", plan });
    expect(body.length).toBeLessThan(MAX_PLAN_BODY_BYTES);
    const showId = await planShow(plan, "Stadium");
    expect(await querySql(showId, "SELECT COUNT(*) AS n FROM seats")).toEqual([{ n: MAX_SEATS }]);
    const { statuses: text } = await (await call(`/api/shows/${showId}/statuses`)).json<{ statuses: string }>();
    expect(text.length).toBe(MAX_SEATS);
    // Its plan (megabytes) is more than an isolate keeps, so it is not compressed here once per
    // request: it goes out as it is, for the platform to compress; the statuses are gzipped.
    const gzip = { headers: { "accept-encoding": "gzip" } };
    const planAnswer = await call(`/api/shows/${showId}/plan`, gzip);
    expect(planAnswer.headers.get("content-encoding")).toBeNull();
    expect((await planAnswer.json<{ plan: Plan }>()).plan.zones).toHaveLength(6);
    expect((await call(`/api/shows/${showId}/statuses`, gzip)).headers.get("content-encoding")).toBe("gzip");
    // Its frame and its seat map are more than an isolate keeps as JSON: the frame is parsed once,
    // the map composed all the same, for the location's cache, so the show never builds a map for
    // a reader (it would build one for every location and every change), however many versions.
    const { namespace, calls } = countingNamespace(env.SHOW);
    // With the copies on, as deployed, so that what the isolate learns about the map is kept.
    const counted = { SHOW: namespace, SEAT_MAP_MAX_AGE_SECONDS: "1" };
    const seatIds = await querySql<{ seat_id: string }>(showId, "SELECT seat_id FROM seats ORDER BY position LIMIT 2");
    // What the isolate builds and parses of 4 MB and 1 MB or more, counted around the reads.
    const large = { maps: 0, parses: 0 };
    const read = async () => {
      const { stringify, parse } = JSON;
      JSON.stringify = ((...args: Parameters<typeof stringify>) => {
        const text = stringify(...args);
        if (text?.length >= 4 * 1024 * 1024) large.maps++;
        return text;
      }) as typeof JSON.stringify;
      JSON.parse = ((text: string, reviver?: Parameters<typeof parse>[1]) => {
        if (text.length >= 1024 * 1024) large.parses++;
        return parse(text, reviver);
      }) as typeof JSON.parse;
      try {
        const response = await withEnv(counted, `/api/shows/${showId}/seats`);
        return new Response(await response.text(), response);
      } finally {
        Object.assign(JSON, { stringify, parse });
      }
    };
    for (const [booked, { seat_id }] of seatIds.entries()) {
      expect((await bookSeat(showId, seat_id)).status).toBe(200);
      // The copy read before this booking has run out.
      if (booked > 0) await new Promise((resolve) => setTimeout(resolve, 1100));
      const map = await read();
      expect(map.status).toBe(200);
      const own = (await env.SHOW.getByName(showId).seatMapJson()) as { json: string };
      const text = await map.text();
      expect(text).toBe(own.json);
      expect(JSON.parse(text).counts.booked).toBe(booked + 1);
    }
    expect(calls.seatMapJson).toBeUndefined();
    expect(calls.seatFrame).toBe(1);
    expect(calls.statusesJson).toBe(2);
    // The location's copy of the map is as old as the statuses it was made from, not as the making.
    const copies = await caches.open("seat-maps");
    const storedAt = async (path: string) =>
      (await copies.match(`${BASE}/api/shows/${showId}/${path}`))?.headers.get("x-stored-at");
    for (let tries = 0; (await storedAt("seats")) === undefined; tries++) {
      expect(tries).toBeLessThan(100);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await storedAt("seats")).toBe(await storedAt("statuses"));
    // One map composed a version, its frame parsed once; and once the isolate knows the map is too
    // large to keep, a read finds the location's copy without needing the frame (here forgotten, as
    // when other large plans have pushed it out).
    expect(large).toEqual({ maps: 2, parses: 1 });
    forgetFrames();
    expect((await read()).status).toBe(200);
    expect(large).toEqual({ maps: 2, parses: 1 });
    // One zone's map is small enough to keep: it is composed from the same frame.
    const zoneMap = await withEnv(counted, `/api/shows/${showId}/seats?zone=Zone%201`);
    expect(zoneMap.status).toBe(200);
    const own = (await env.SHOW.getByName(showId).seatMapJson({ zone: "Zone 1" })) as { json: string };
    expect(await zoneMap.text()).toBe(own.json);
    expect(calls.seatMapJson).toBeUndefined();
    expect(calls.seatFrame).toBe(1);

    const lastRow = plan.zones.at(-1)!.rows.at(-1)!;
    lastRow.seats.push({ ...lastRow.seats[0]!, seat_guid: "one-too-many" });
    const response = await putPlan(`t-${crypto.randomUUID()}`, plan);
    expect(response.status).toBe(400);
    const zone = plan.zones.length - 1;
    const rowIndex = plan.zones[zone]!.rows.length - 1;
    expect(await response.json()).toEqual({
      error: `plan.zones[${zone}].rows[${rowIndex}].seats[${lastRow.seats.length - 1}] is one seat too many: a plan has at most ${MAX_SEATS}`,
      path: `plan.zones[${zone}].rows[${rowIndex}].seats[${lastRow.seats.length - 1}]`,
      field: "plan",
    });
  }, 60_000);

  it("imports 100,000 seats with the longest zone and category names, a body just under its limit", async () => {
    const category = "C".repeat(64);
    const zones = Array.from({ length: 10 }, (_, z) => ({
      name: `${z}`.padEnd(200, "Z"),
      position: { x: 0, y: z * 2000 },
      rows: Array.from({ length: 100 }, (_, r) => ({
        row_number: `${r}`,
        position: { x: 0, y: r * 20 },
        seats: Array.from({ length: 100 }, (_, n) => ({
          seat_guid: `${z}_${r}_${n}`,
          seat_number: `${n}`,
          position: { x: n * 20, y: 0 },
          category,
        })),
      })),
    }));
    const plan = { name: "Long names", categories: [{ name: category }], zones };
    expect(JSON.stringify({ name: "Long names", plan }).length).toBeGreaterThan(14_000_000);
    // Laid out in the Worker and sent whole, this plan and its seats came to 48 MB, past the 32 MiB
    // one call may carry: a 500. The show now gets the plan's bytes and lays it out itself.
    const showId = await planShow(plan, "Long names");
    expect(await querySql(showId, "SELECT COUNT(*) AS n FROM seats")).toEqual([{ n: MAX_SEATS }]);
  }, 60_000);

  it("makes every seat bookable by its seat_guid, through every route that names seats", async () => {
    const showId = await planShow(smallPlan());
    const book = await bookSeat(showId, "s-a1", "ann");
    expect(book.status).toBe(200);
    expect(await book.json()).toMatchObject({ message: "Seat booked successfully", booking: { seat_id: "s-a1" } });
    expect((await bookSeat(showId, "s-a1")).status).toBe(409);

    const group = await post(`/api/shows/${showId}/bookings`, { seat_ids: ["s-a2", "c-1"] });
    expect(group.status).toBe(200);
    const hold = await post(`/api/shows/${showId}/holds`, { seat_ids: ["s-b1"] });
    expect(hold.status).toBe(201);
    const held = await hold.json<{ hold_id: string; hold_token: string; seats: unknown[] }>();
    expect(held.seats).toEqual([
      { seat_id: "s-b1", label: "Stalls, row B, seat 1", zone: "Stalls", row: "B", number: "1", category: "Back" },
    ]);
    const confirm = await call(`/api/holds/${held.hold_id}/confirm`, {
      method: "POST",
      headers: bearer(held.hold_token),
    });
    expect(confirm.status).toBe(200);

    const block = await post(`/admin/shows/${showId}/seats/block`, { seat_ids: ["c-2"], reason: "desk" }, adminHeaders);
    expect(block.status).toBe(200);
    const reset = await call(`/admin/shows/${showId}/seats/s-a1/booking`, { method: "DELETE", headers: adminHeaders });
    expect(await reset.json()).toMatchObject({ message: "Seat reset", seat_id: "s-a1", released: true });

    expect(await statuses(showId)).toEqual({
      "s-a1": "available",
      "s-a2": "booked",
      "s-b1": "booked",
      "s-b2": "available",
      "c-1": "booked",
      "c-2": "blocked",
    });
  });

  const refusals: [string, (plan: Plan) => void, { error: string; path: string }][] = [
    [
      "a seat_guid used twice",
      (plan) => (plan.zones[1]!.rows[0]!.seats[1]!.seat_guid = "s-a2"),
      {
        error: "plan.zones[1].rows[0].seats[1].seat_guid repeats seat 's-a2'",
        path: "plan.zones[1].rows[0].seats[1].seat_guid",
      },
    ],
    [
      "a category missing from categories",
      (plan) => (plan.zones[0]!.rows[1]!.seats[0]!.category = "Gallery"),
      {
        error:
          "plan.zones[0].rows[1].seats[0].category names category 'Gallery', which is not in the plan's categories",
        path: "plan.zones[0].rows[1].seats[0].category",
      },
    ],
    [
      "a seat with no position",
      (plan) => delete (plan.zones[0]!.rows[0]!.seats[1] as Partial<Plan["zones"][0]["rows"][0]["seats"][0]>).position,
      { error: "plan.zones[0].rows[0].seats[1].position is required", path: "plan.zones[0].rows[0].seats[1].position" },
    ],
    [
      "a zone with no position",
      (plan) => delete (plan.zones[1] as Partial<Plan["zones"][0]>).position,
      { error: "plan.zones[1].position is required", path: "plan.zones[1].position" },
    ],
    [
      "a seat_guid no route could name",
      (plan) => (plan.zones[0]!.rows[0]!.seats[0]!.seat_guid = "A 1"),
      {
        error: "plan.zones[0].rows[0].seats[0].seat_guid must match pattern /^[A-Za-z0-9_-]{1,64}$/",
        path: "plan.zones[0].rows[0].seats[0].seat_guid",
      },
    ],
    [
      "a category named twice",
      (plan) => (plan.categories[1]!.name = "Front"),
      { error: "plan.categories[1].name repeats category 'Front'", path: "plan.categories[1].name" },
    ],
    [
      "a category with no name, which neither ?category= nor best available could name",
      (plan) => (plan.categories[0]!.name = ""),
      { error: "plan.categories[0].name must not be empty", path: "plan.categories[0].name" },
    ],
    [
      "an area's text of a size no map could draw",
      (plan) => ((plan.zones[0]!.areas![0] as { text: unknown }).text = { text: "Stage", size: 1e308 }),
      {
        error: "plan.zones[0].areas[0].text.size is invalid: Too big: expected number to be <=1000000",
        path: "plan.zones[0].areas[0].text.size",
      },
    ],
    [
      "a colour that is not a colour",
      (plan) => (plan.categories[0]!.color = "red;}<script>"),
      {
        error:
          "plan.categories[0].color must match pattern /^(#([0-9A-Fa-f]{3,4}|[0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})|[A-Za-z]{1,20})$/",
        path: "plan.categories[0].color",
      },
    ],
  ];

  it.each(refusals)("refuses %s with 400 naming its path, and changes nothing", async (_, spoil, expected) => {
    const showId = await planShow(smallPlan());
    const plan = smallPlan();
    spoil(plan);
    const response = await putPlan(showId, plan, "Spoiled");
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ ...expected, field: "plan" });
    const served = await (await call(`/api/shows/${showId}/plan`)).json<{ layout: number; plan: Plan }>();
    expect(served.layout).toBe(1);
    expect(served.plan).toEqual(smallPlan());
  });

  it("stores a plan whose emoji fall where its stored parts are cut as it came: the same PUT again changes nothing", async () => {
    const emoji = "\u{1F3AD}".repeat(16); // 32 UTF-16 units each
    const seats = Array.from({ length: 6000 }, (_, i) => ({
      seat_guid: `s${i}`,
      seat_number: emoji,
      position: { x: (i % 100) * 30, y: Math.floor(i / 100) * 30 },
      category: "A",
    }));
    // A plan name whose length puts the first half of an emoji last in the first part.
    let plan: object | undefined;
    for (let pad = 1; plan === undefined; pad++) {
      const candidate = {
        name: "p".repeat(pad),
        categories: [{ name: "A" }],
        zones: [{ name: "Hall", position: { x: 0, y: 0 }, rows: [{ row_number: "1", seats }] }],
      };
      const code = JSON.stringify(layoutFromPlan(candidate).plan).charCodeAt(PLAN_PART_CHARS - 1);
      if (code >= 0xd800 && code <= 0xdbff) plan = candidate;
    }
    const showId = await planShow(plan);
    const served = await (await call(`/api/shows/${showId}/plan`)).json<{ layout: number; plan: Plan }>();
    const numbers = new Set(served.plan.zones[0]!.rows[0]!.seats.map((seat) => seat.seat_number));
    expect([...numbers]).toEqual([emoji]);
    expect((await putPlan(showId, plan)).status).toBe(200);
    const after = await (await call(`/api/shows/${showId}/plan`)).json<{ layout: number }>();
    expect(after.layout).toBe(served.layout);
  });

  it("renames a show, or changes its order limit, without reading or writing a seat: a new layout version, the seats as they were", async () => {
    const plan = arenaPlan({ seats: 60, zones: 2 });
    const showId = await planShow(plan, "Before");
    const [first, second] = seatsOf(plan).map((seat) => seat.seat_guid);
    expect((await bookSeat(showId, first!)).status).toBe(200);
    await holdSeats(showId, [second!]);
    const index = () =>
      runInDurableObject(
        showStub(showId),
        (show: Show) => (show as unknown as { seating: { index_: object } }).seating.index_,
      );
    const before = await index();
    const seatsWritten = () => querySql<{ n: number }>(showId, "SELECT COUNT(*) AS n FROM seats");

    // A new name: the same plan, sent again as the first PUT sent it.
    const renamed = await putPlan(showId, plan, "After");
    expect(renamed.status).toBe(200);
    expect((await renamed.json<{ show: { name: string } }>()).show.name).toBe("After");
    // The object's seat index is the one it had (a rebuild would be a new one), and nothing was dropped.
    await runInDurableObject(showStub(showId), (show: Show) => {
      expect((show as unknown as { seating: { index_: object } }).seating.index_).toBe(before);
    });
    expect(await seatsWritten()).toEqual([{ n: 60 }]);
    const map = await (await call(`/api/shows/${showId}/seats`)).json<{ name: string }>();
    expect(map.name).toBe("After");
    expect((await (await call(`/api/shows/${showId}/plan`)).json<{ layout: number }>()).layout).toBe(2);
    const seatStatuses = await statuses(showId);
    expect([seatStatuses[first!], seatStatuses[second!]]).toEqual(["booked", "held"]);

    // A new order limit alone: it applies at once.
    expect((await putPlan(showId, plan, "After", { max_seats_per_order: 2 })).status).toBe(200);
    const three = seatsOf(plan)
      .map((seat) => seat.seat_guid)
      .slice(10, 13);
    const refused = await post(`/api/shows/${showId}/holds`, { seat_ids: three });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ limit: 2 });
    expect(await index()).toBe(before);
    const plan2 = await (
      await call(`/api/shows/${showId}/plan`)
    ).json<{ layout: number; max_seats_per_order: number }>();
    expect(plan2).toMatchObject({ layout: 3, max_seats_per_order: 2 });

    // The same again changes nothing, not even the layout version.
    expect((await putPlan(showId, plan, "After", { max_seats_per_order: 2 })).status).toBe(200);
    expect((await (await call(`/api/shows/${showId}/plan`)).json<{ layout: number }>()).layout).toBe(3);
  });

  it("knows its own plan sent again by its digest alone, without parsing it; a plan sent without one is compared as laid out", async () => {
    const plan = arenaPlan({ seats: 20, zones: 1 });
    const showId = await planShow(plan, "Digest");
    const notedDigest = async () =>
      (await querySql<{ plan_digest: string | null }>(showId, "SELECT plan_digest FROM show"))[0]?.plan_digest;
    // The plan's SHA-256 as the Worker sent it, noted with the layout rules and the layout version.
    const [, digest] = new RegExp(`^${LAYOUT_RULES}:([0-9a-f]{64})@1$`).exec((await notedDigest()) ?? "") ?? [];
    expect(digest).toBeDefined();
    const origin = { route: "PUT /admin/shows/:show_id", actor: "admin" };
    // Bytes that are not even JSON, under the digest of the plan the show has: taken for that plan.
    const garbage = new TextEncoder().encode("not a plan");
    const renamed = await runInDurableObject(showStub(showId), (show: Show) =>
      show.configure({ showId, name: "Renamed", plan: garbage, planDigest: digest! }, origin),
    );
    expect(renamed).toMatchObject({ ok: true, created: false, show: { name: "Renamed" } });
    expect(await notedDigest()).toBe(`${LAYOUT_RULES}:${digest}@2`);
    // Without a digest noted (a show from before digests), the same plan is still known for itself
    // once laid out, and its digest noted for next time.
    await runInDurableObject(showStub(showId), (show: Show) => {
      const { sql } = (show as unknown as { ctx: DurableObjectState }).ctx.storage;
      sql.exec("UPDATE show SET plan_digest = NULL");
      (show as unknown as { seating: { load(): void } }).seating.load();
    });
    // The plan as the show keeps it, which is the plan as the Worker sends it once validated.
    const served = await (await call(`/api/shows/${showId}/plan`)).json<{ plan: unknown }>();
    const bytes = new TextEncoder().encode(JSON.stringify(served.plan));
    const same = await runInDurableObject(showStub(showId), (show: Show) =>
      show.configure({ showId, name: "Renamed", plan: bytes, planDigest: digest! }, origin),
    );
    expect(same).toMatchObject({ ok: true, created: false });
    expect((await (await call(`/api/shows/${showId}/plan`)).json<{ layout: number }>()).layout).toBe(2);
    expect(await notedDigest()).toBe(`${LAYOUT_RULES}:${digest}@2`);
  });

  it("trusts a noted digest only at the layout version it was noted at: code that knows no digests may have changed the plan since", async () => {
    const [small, large] = [arenaPlan({ seats: 20, zones: 1 }), arenaPlan({ seats: 40, zones: 1 })];
    const showId = await planShow(small, "Rolled back");
    const [{ plan_digest: noted } = { plan_digest: "" }] = await querySql<{ plan_digest: string }>(
      showId,
      "SELECT plan_digest FROM show",
    );
    // An earlier deploy (a rollback, say) lays out another plan, and leaves the digest as it was.
    expect((await putPlan(showId, large, "Rolled back")).status).toBe(200);
    await querySql(showId, `UPDATE show SET plan_digest = '${noted}'`);
    await runInDurableObject(showStub(showId), (show: Show) =>
      (show as unknown as { seating: { load(): void } }).seating.load(),
    );
    // The first plan again: its digest is the one noted, but the show has moved on since.
    expect((await putPlan(showId, small, "Rolled back")).status).toBe(200);
    const map = await (await call(`/api/shows/${showId}/seats`)).json<{ seats: unknown[] }>();
    expect(map.seats).toHaveLength(20);
  });

  it("renames a show made from a flat seat list without touching a seat, though its plan is named as the show", async () => {
    const showId = `t-${crypto.randomUUID()}`;
    const put = (name: string) =>
      call(`/admin/shows/${showId}`, {
        method: "PUT",
        headers: adminHeaders,
        body: JSON.stringify({ name, seats: 30 }),
      });
    expect((await put("Flat")).status).toBe(201);
    expect((await bookSeat(showId, 7)).status).toBe(200);
    const index = () =>
      runInDurableObject(
        showStub(showId),
        (show: Show) => (show as unknown as { seating: { index_: object } }).seating.index_,
      );
    const before = await index();
    expect((await put("Flat, renamed")).status).toBe(200);
    expect(await index()).toBe(before);
    const served = await (await call(`/api/shows/${showId}/plan`)).json<{ layout: number; plan: { name: string } }>();
    expect(served).toMatchObject({ layout: 2, plan: { name: "Flat, renamed" } });
    expect((await statuses(showId))["7"]).toBe("booked");
    // And once more, now by its digest.
    expect((await put("Flat, renamed")).status).toBe(200);
    expect((await (await call(`/api/shows/${showId}/plan`)).json<{ layout: number }>()).layout).toBe(2);
  });

  it("refuses names with an unpaired surrogate, which would read back as another name", async () => {
    const plan = arenaPlan({ seats: 10, zones: 1 });
    const lone = (text: string) => JSON.stringify(text).replace("X", "\\ud800");
    const bodies = [
      `{"name":${lone("showX")},"seats":3}`,
      JSON.stringify({ name: "ok", plan }).replace(`"name":"${plan.categories[0]!.name}"`, `"name":${lone("catX")}`),
    ];
    for (const body of bodies) {
      const showId = `t-${crypto.randomUUID()}`;
      const response = await call(`/admin/shows/${showId}`, { method: "PUT", headers: adminHeaders, body });
      expect(response.status, body.slice(0, 80)).toBe(400);
      expect(JSON.stringify(await response.json())).toContain("well-formed Unicode");
    }
  });

  it("refuses a body with both a plan and seats, or neither", async () => {
    const showId = `t-${crypto.randomUUID()}`;
    for (const body of [{ name: "x", seats: 3, plan: smallPlan() }, { name: "x" }]) {
      const init = { method: "PUT", headers: adminHeaders, body: JSON.stringify(body) };
      const response = await call(`/admin/shows/${showId}`, init);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: "Give either seats or plan", field: "seats" });
    }
    expect((await call(`/api/shows/${showId}/plan`)).status).toBe(404);
  });

  it("refuses a new plan that leaves out a booked or held seat, and keeps the old one", async () => {
    const showId = await planShow(smallPlan());
    expect((await bookSeat(showId, "c-1")).status).toBe(200);
    const smaller = smallPlan();
    smaller.zones.pop();
    const response = await putPlan(showId, smaller);
    expect(response.status).toBe(409);
    expect(await response.json()).toEqual({
      error: "The new layout leaves out seats that are booked or held; free them first",
      show_id: showId,
      seat_ids: ["c-1"],
    });
    expect((await call(`/api/shows/${showId}/plan`)).headers.get("etag")).toBe('"1"');
  });

  it("serves the plan with its layout version as ETag, 304 for that tag, and a new tag for a new layout", async () => {
    const showId = await planShow(smallPlan());
    const cached = await call(`/api/shows/${showId}/plan`, { headers: { "if-none-match": '"1"' } });
    expect(cached.status).toBe(304);
    const moved = smallPlan();
    moved.zones[1]!.position = { x: 40, y: 160 };
    expect((await putPlan(showId, moved)).status).toBe(200);
    const fresh = await call(`/api/shows/${showId}/plan`, { headers: { "if-none-match": '"1"' } });
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get("etag")).toBe('"2"');
    expect((await fresh.json<{ plan: Plan }>()).plan.zones[1]!.position).toEqual({ x: 40, y: 160 });
  });

  it("gives a show made from a flat seat list a plan of rows of ten, in category General", async () => {
    const showId = `t-${crypto.randomUUID()}`;
    const put = await call(`/admin/shows/${showId}`, {
      method: "PUT",
      headers: adminHeaders,
      body: JSON.stringify({ name: "Flat", seats: 12 }),
    });
    expect(put.status).toBe(201);
    const { plan } = await (await call(`/api/shows/${showId}/plan`)).json<{ plan: Plan }>();
    expect(plan.categories).toEqual([{ name: "General", color: "#2f6fb3" }]);
    expect(plan.zones[0]!.rows.map((row) => [row.row_number, row.seats.map((seat) => seat.seat_guid)])).toEqual([
      ["1", ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]],
      ["2", ["11", "12"]],
    ]);
    expect(plan.zones[0]!.areas?.[0]).toMatchObject({ text: "Stage" });
  });
});

describe("hostile plans", () => {
  /** Every path into a JSON value: object keys and array indexes, down to the leaves. */
  function pathsOf(value: unknown, at: (string | number)[] = []): (string | number)[][] {
    if (typeof value !== "object" || value === null) return [at];
    const keys = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
    return [at, ...keys.flatMap((key) => pathsOf((value as Record<string | number, unknown>)[key], [...at, key]))];
  }

  const hostile = fc.oneof(
    fc.constantFrom(null, true, 0, -1, 1e308, -1e308, 0.5, "", "x".repeat(300), [], {}, [[[[[]]]]]),
    fc.constantFrom({ __proto__: { x: 1 } }, { constructor: "x" }, { x: 1, y: "2" }, "ünï 💺", "A 1"),
    fc.string({ maxLength: 40 }),
    fc.integer(),
    fc.double({ noNaN: true }),
  );

  it("a plan with any one part replaced by something else gets 400 naming a path, or imports; never a 500, never a half change", async () => {
    const showId = await planShow(smallPlan());
    const paths = pathsOf(smallPlan()).filter((path) => path.length > 0);
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), hostile, async (path, value) => {
        const plan = smallPlan() as unknown as Record<string | number, unknown>;
        let parent = plan;
        for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
        parent[path.at(-1)!] = value;
        const before = (await call(`/api/shows/${showId}/plan`)).headers.get("etag");
        const response = await putPlan(showId, plan);
        const body = await response.json<{ error?: string; path?: string }>();
        expect([200, 400, 409], JSON.stringify(body)).toContain(response.status);
        if (response.status === 200) return;
        refused++;
        expect(JSON.stringify(body)).not.toMatch(/stack|at .*\.ts/);
        expect((await call(`/api/shows/${showId}/plan`)).headers.get("etag")).toBe(before);
      }),
      { numRuns: 80 },
    );
    expect(refused).toBeGreaterThan(0);
  });
});

describe("reading seats by category and zone", () => {
  it("filters the seat map by ?category= and ?zone=, and counts every category", async () => {
    const showId = await planShow(smallPlan());
    await bookSeat(showId, "s-b2");
    const categories = [
      { name: "Front", color: "#aa0000", total: 2, available: 2 },
      { name: "Back", color: "#0000aa", total: 4, available: 3 },
    ];
    const back = await call(`/api/shows/${showId}/seats?category=Back`);
    expect(await back.json()).toEqual({
      show_id: showId,
      name: "Planned show",
      seats: [
        { seat_id: "s-b1", status: "available" },
        { seat_id: "s-b2", status: "booked" },
        { seat_id: "c-1", status: "available" },
        { seat_id: "c-2", status: "available" },
      ],
      counts: { total: 4, available: 3, held: 0, booked: 1, blocked: 0 },
      categories,
    });
    const stallsBack = await call(`/api/shows/${showId}/seats?category=Back&zone=Stalls`);
    expect((await stallsBack.json<{ seats: unknown[] }>()).seats).toEqual([
      { seat_id: "s-b1", status: "available" },
      { seat_id: "s-b2", status: "booked" },
    ]);
    const unknown = await call(`/api/shows/${showId}/seats?zone=Balcony`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({
      error: "This show's plan has no seats in zone 'Balcony'",
      show_id: showId,
      field: "zone",
    });
  });

  it("composes in the Worker, for every filter and status, exactly the map the show builds", async () => {
    const showId = await planShow(smallPlan());
    await bookSeat(showId, "s-b2");
    await holdSeats(showId, ["s-a1"]);
    const block = await call(`/admin/shows/${showId}/seats/block`, {
      method: "POST",
      headers: adminHeaders,
      body: JSON.stringify({ seat_ids: ["c-2"], reason: "camera" }),
    });
    expect(block.status).toBe(200);
    const filters: Record<string, string>[] = [{}, { category: "Front" }, { category: "Back" }];
    filters.push({ zone: "Stalls" }, { zone: "Circle" });
    filters.push({ category: "Back", zone: "Circle" }, { category: "Front", zone: "Circle" });
    const show = env.SHOW.getByName(showId);
    for (const filter of filters) {
      const query = new URLSearchParams(filter).toString();
      // Copies off, so that both read the show as it is now.
      const served = await withEnv({ SEAT_MAP_MAX_AGE_SECONDS: "0" }, `/api/shows/${showId}/seats?${query}`);
      expect(served.status, query).toBe(200);
      const own = (await show.seatMapJson(filter)) as { json: string; etag: string };
      expect(await served.text(), query).toBe(own.json);
      expect(served.headers.get("etag"), query).toBe(own.etag);
    }
    const all = (await (await call(`/api/shows/${showId}/seats`)).json()) as { counts: unknown };
    expect(all.counts).toEqual({ total: 6, available: 3, held: 1, booked: 1, blocked: 1 });
    const circle = await (await call(`/api/shows/${showId}/seats?category=Back&zone=Circle`)).json();
    expect(circle).toMatchObject({
      seats: [
        { seat_id: "c-1", status: "available" },
        { seat_id: "c-2", status: "blocked" },
      ],
      counts: { total: 2, available: 1, held: 0, booked: 0, blocked: 1 },
    });
  });

  it("lists the show with its available seats per category", async () => {
    const showId = await planShow(smallPlan(), "Listed plan");
    const page = await (await call("/api/shows?limit=200")).json<{ shows: { show_id: string }[] }>();
    expect(page.shows.find((show) => show.show_id === showId)).toEqual({
      show_id: showId,
      name: "Listed plan",
      capacity: 6,
      available: 6,
      categories: [
        { name: "Front", color: "#aa0000", total: 2, available: 2 },
        { name: "Back", color: "#0000aa", total: 4, available: 4 },
      ],
    });
  });

  it("serves every seat's status as one character per seat, in plan order", async () => {
    const showId = await planShow(smallPlan());
    await bookSeat(showId, "s-a2");
    await post(`/admin/shows/${showId}/seats/block`, { seat_ids: ["c-2"], reason: "desk" }, adminHeaders);
    await post(`/api/shows/${showId}/holds`, { seat_ids: ["s-b1"] });
    const response = await call(`/api/shows/${showId}/statuses`);
    expect(response.headers.get("etag")).toBe('"1.3"');
    expect(await response.json()).toEqual({
      show_id: showId,
      name: "Planned show",
      layout: 1,
      version: 3,
      statuses: "abhaax",
      categories: [
        { name: "Front", color: "#aa0000", total: 2, available: 1 },
        { name: "Back", color: "#0000aa", total: 4, available: 2 },
      ],
      zones: [
        { name: "Stalls", total: 4, available: 2 },
        { name: "Circle", total: 2, available: 1 },
      ],
    });
  });

  it("keeps a 20,000-seat show's statuses to 20 KB of statuses", async () => {
    const showId = await planShow(arenaPlan({ seats: 20_000, zones: 4 }));
    const body = await (await call(`/api/shows/${showId}/statuses`)).text();
    const { statuses: text } = JSON.parse(body) as { statuses: string };
    expect(text).toBe("a".repeat(20_000));
    expect(body.length).toBeLessThan(21_000);
  });
});
