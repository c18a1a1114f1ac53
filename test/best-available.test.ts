import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Plan } from "../scripts/venues/arena";
import { AISLE_FACTOR } from "../src/venue/layout";
import { adminHeaders, bookSeat, call, post, querySql, showStub } from "./helpers";

interface HeldSeat {
  seat_id: string;
  label: string;
  zone: string;
  row: string;
  number: string;
  category: string;
}

async function planShow(plan: Plan, maxSeatsPerOrder = 10): Promise<string> {
  const showId = `t-${crypto.randomUUID()}`;
  const response = await call(`/admin/shows/${showId}`, {
    method: "PUT",
    headers: adminHeaders,
    body: JSON.stringify({ name: "Best seats", plan, max_seats_per_order: maxSeatsPerOrder }),
  });
  expect(response.status, await response.clone().text()).toBe(201);
  return showId;
}

function best(showId: string, request: { count: number; category?: string; zone?: string }) {
  return post(`/api/shows/${showId}/holds`, { best_available: request });
}

async function bestSeats(showId: string, request: { count: number; category?: string; zone?: string }) {
  const response = await best(showId, request);
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json<{ seats: HeldSeat[] }>()).seats.map((seat) => seat.seat_id);
}

/** A row of seats at the given x offsets (y 0), guids `<prefix><n>`, all in one category. */
function row(rowNumber: string, y: number, xs: number[], category = "A", prefix = `${rowNumber}-`) {
  return {
    row_number: rowNumber,
    position: { x: 0, y },
    seats: xs.map((x, i) => ({
      seat_guid: `${prefix}${i + 1}`,
      seat_number: String(i + 1),
      position: { x, y: 0 },
      category,
    })),
  };
}

/** A plan with its stage centred on x = 0, at y = -40; rows go back from y = 0. */
function hall(rows: ReturnType<typeof row>[], zones: { name: string; rows: ReturnType<typeof row>[] }[] = []): Plan {
  return {
    name: "Hall",
    categories: [{ name: "A" }, { name: "B" }],
    zones: [
      {
        name: "Stalls",
        position: { x: 0, y: 0 },
        areas: [{ position: { x: -100, y: -50 }, width: 200, height: 20, text: "STAGE" }],
        rows,
      },
      ...zones.map((zone) => ({ name: zone.name, position: { x: 0, y: 500 }, rows: zone.rows })),
    ],
  };
}

describe("best available", () => {
  it("sees an aisle in a row of two seats in a plan whose rows all have two", async () => {
    // Row A's two seats are 1,000 apart, row B's 20: A is two single seats, not a pair.
    const plan = hall([row("A", 0, [-500, 500]), row("B", 30, [-10, 10])]);
    expect(await bestSeats(await planShow(plan), { count: 2 })).toEqual(["B-1", "B-2"]);
  });

  it("takes a polygon stage's centre from its points, as the page draws it", async () => {
    const plan = hall([
      row(
        "A",
        0,
        Array.from({ length: 20 }, (_, i) => i * 30),
      ),
    ]);
    // A stage polygon anchored at its left corner, spanning the row's width (x 0 to 570).
    const points = [
      { x: 0, y: 0 },
      { x: 570, y: 0 },
      { x: 570, y: 40 },
      { x: 0, y: 40 },
    ];
    // With its shape named, and without (the page draws an area with points as a polygon).
    for (const shape of [{ shape: "polygon" }, {}]) {
      const stage = { ...shape, position: { x: 0, y: -80 }, polygon: { points }, text: "Stage" };
      (plan.zones[0] as { areas: unknown[] }).areas = [stage];
      expect(await bestSeats(await planShow(plan), { count: 2 })).toEqual(["A-10", "A-11"]);
    }
  });

  it("takes the stage from an area named for it as a word, not from a backstage listed first", async () => {
    const plan = hall([
      row(
        "A",
        0,
        Array.from({ length: 20 }, (_, i) => i * 30),
      ),
    ]);
    // The backstage is behind the row's left end, the stage in front of its middle (x 285).
    const backstage = { position: { x: -40, y: 60 }, width: 20, height: 20, text: "Backstage" };
    const stage = { position: { x: 185, y: -50 }, width: 200, height: 20, text: "Main stage" };
    (plan.zones[0] as { areas: unknown[] }).areas = [backstage, stage];
    const showId = await planShow(plan);
    expect(await bestSeats(showId, { count: 2 })).toEqual(["A-10", "A-11"]);

    // A show laid out under rules 2 took the backstage for its stage; its plan, sent again, moves it.
    await querySql(showId, "UPDATE show SET focal_x = -30, focal_y = 70");
    await querySql(showId, "UPDATE show SET plan_digest = '2' || substr(plan_digest, instr(plan_digest, ':'))");
    await evictDurableObject(showStub(showId));
    expect(await bestSeats(showId, { count: 2 })).toEqual(["A-1", "A-2"]);
    const put = await call(`/admin/shows/${showId}`, {
      method: "PUT",
      headers: adminHeaders,
      body: JSON.stringify({ name: "Best seats", plan, max_seats_per_order: 10 }),
    });
    expect(put.status).toBe(200);
    expect(await querySql(showId, "SELECT focal_x AS x, focal_y AS y FROM show")).toEqual([{ x: 285, y: -40 }]);
    expect(await bestSeats(showId, { count: 2 })).toEqual(["A-8", "A-9"]);

    // The same under another name: laid out again all the same, before the name is stored.
    await querySql(showId, "UPDATE show SET focal_x = -30, focal_y = 70");
    await querySql(showId, "UPDATE show SET plan_digest = '2' || substr(plan_digest, instr(plan_digest, ':'))");
    await evictDurableObject(showStub(showId));
    const renamed = await call(`/admin/shows/${showId}`, {
      method: "PUT",
      headers: adminHeaders,
      body: JSON.stringify({ name: "Best seats", plan: { ...plan, name: "Hall (2026)" }, max_seats_per_order: 10 }),
    });
    expect(renamed.status).toBe(200);
    expect(await querySql(showId, "SELECT focal_x AS x, focal_y AS y FROM show")).toEqual([{ x: 285, y: -40 }]);
  });

  it("holds the block nearest the stage, adjacent in one row, and says where each seat is", async () => {
    const showId = await planShow(hall([row("A", 0, [-30, -10, 10, 30]), row("B", 30, [-30, -10, 10, 30])]));
    const response = await best(showId, { count: 2 });
    expect(response.status).toBe(201);
    const hold = await response.json<{ seat_ids: string[]; seats: HeldSeat[] }>();
    expect(hold.seat_ids).toEqual(["A-2", "A-3"]);
    expect(hold.seats).toEqual([
      { seat_id: "A-2", label: "Stalls, row A, seat 2", zone: "Stalls", row: "A", number: "2", category: "A" },
      { seat_id: "A-3", label: "Stalls, row A, seat 3", zone: "Stalls", row: "A", number: "3", category: "A" },
    ]);
    expect(await querySql(showId, "SELECT seat_id FROM held_seats ORDER BY seat_id")).toEqual([
      { seat_id: "A-2" },
      { seat_id: "A-3" },
    ]);
    // Row A has two free seats left, but not next to each other.
    expect(await bestSeats(showId, { count: 2 })).toEqual(["B-2", "B-3"]);
  });

  it("never puts an aisle inside a block: a gap wider than the row's usual spacing splits it", async () => {
    // Row A: three seats, an aisle, three seats. Four together only fit in row B.
    const showId = await planShow(hall([row("A", 0, [-80, -60, -40, 40, 60, 80]), row("B", 30, [-30, -10, 10, 30])]));
    expect(await bestSeats(showId, { count: 4 })).toEqual(["B-1", "B-2", "B-3", "B-4"]);
    expect(await bestSeats(showId, { count: 3 })).toEqual(["A-1", "A-2", "A-3"]);
    expect(AISLE_FACTOR).toBe(1.5);
  });

  it("takes a row's spacing from its seats in place, so a row listed odd seats first never pairs seats a seat apart", async () => {
    // x -60, 0, 60, then -30, 30: listed neighbours are all 60 apart or more, but the seats are 30
    // apart; taken from the listing, the spacing was 60, and A-4 with A-5 (A-2 between) a pair.
    const showId = await planShow(hall([row("A", 0, [-60, 0, 60, -30, 30])]));
    const response = await best(showId, { count: 2 });
    expect(response.status, await response.clone().text()).toBe(409);
  });

  it("splits the rows of a plan sent again as the rules now say, though the plan is the same", async () => {
    const plan = hall([row("A", 0, [-60, 0, 60, -30, 30])]);
    const showId = await planShow(plan);
    // As a deploy with other rules left it: one run for the whole row, the digest noted under rules 1.
    await querySql(showId, "UPDATE seats SET run = 0");
    await querySql(showId, "UPDATE show SET plan_digest = '1' || substr(plan_digest, instr(plan_digest, ':'))");
    await evictDurableObject(showStub(showId));
    const put = await call(`/admin/shows/${showId}`, {
      method: "PUT",
      headers: adminHeaders,
      body: JSON.stringify({ name: "Best seats", plan, max_seats_per_order: 10 }),
    });
    expect(put.status).toBe(200);
    expect(await querySql(showId, "SELECT COUNT(DISTINCT run) AS runs FROM seats")).toEqual([{ runs: 5 }]);
    expect((await best(showId, { count: 2 })).status).toBe(409);
  });

  it("takes no spacing from two seats drawn at one place: the rest of their row stays together", async () => {
    // share x = 0: a gap of 0 taken for the row's spacing made every 30 an aisle, and
    // left no block of more than two.
    const showId = await planShow(hall([row("A", 0, [-30, 0, 0, 30, 60])]));
    expect(await bestSeats(showId, { count: 4 })).toEqual(["A-1", "A-2", "A-3", "A-4"]);
  });

  it("never joins seats across a wide gap, however unevenly a row is spaced or listed", async () => {
    // Row A: a wide gap in the middle of a row whose median gap is wide too; row B: listed out of order.
    const showId = await planShow(hall([row("A", 0, [0, 500, 1000, 1030]), row("B", 30, [0, 90, 30, 60])]));
    const seen: string[][] = [];
    for (let i = 0; i < 3; i++) {
      const response = await best(showId, { count: 2 });
      if (response.status !== 201) break;
      seen.push((await response.json<{ seat_ids: string[] }>()).seat_ids);
    }
    // Only the seats 30 apart are next to each other: B-3 and B-4 (x 30 and 60), A-3 and A-4.
    expect(seen).toEqual([
      ["B-3", "B-4"],
      ["A-3", "A-4"],
    ]);
  });

  it("among blocks of equal rank, takes the one that strands no single seat", async () => {
    // Left row: three seats; taking the two nearer the centre would strand the outer one. Right
    // row: two seats, exactly as far from the stage. The left row comes first in plan order.
    const showId = await planShow(hall([row("L", 0, [-45, -35, -25]), row("R", 0, [25, 35])]));
    expect(await bestSeats(showId, { count: 2 })).toEqual(["R-1", "R-2"]);
  });

  it("ranks by distance whatever the plan's units: the same hall drawn a million times smaller", async () => {
    const scaled = (plan: Plan, by: number): Plan =>
      JSON.parse(JSON.stringify(plan), (key, value) =>
        ["x", "y", "width", "height"].includes(key) && typeof value === "number" ? value * by : value,
      );
    const plan = hall([row("A", 0, [-150, -120, -90, -60, -30, 0, 30, 60, 90])]);
    for (const by of [1, 1e-6]) {
      expect(await bestSeats(await planShow(scaled(plan, by)), { count: 1 })).toEqual(["A-6"]);
    }
  });

  it("keeps to the category and zone asked for", async () => {
    const plan = hall(
      [row("A", 0, [-10, 10], "B"), row("B", 30, [-10, 10], "A")],
      [{ name: "Circle", rows: [row("AA", 0, [-10, 10], "A")] }],
    );
    const showId = await planShow(plan);
    expect(await bestSeats(showId, { count: 2, category: "A", zone: "Circle" })).toEqual(["AA-1", "AA-2"]);
    expect(await bestSeats(showId, { count: 2, category: "A" })).toEqual(["B-1", "B-2"]);
    expect(await bestSeats(showId, { count: 1 })).toEqual(["A-1"]);
  });

  it("answers 409 when no block fits, 404 for an unknown category, 400 past the order limit, and holds nothing", async () => {
    const showId = await planShow(hall([row("A", 0, [-10, 10])]), 4);
    await bookSeat(showId, "A-1");
    const none = await best(showId, { count: 2 });
    expect(none.status).toBe(409);
    expect(await none.json()).toEqual({
      error: "No block of that many adjacent available seats is left",
      show_id: showId,
    });
    const unknown = await best(showId, { count: 1, category: "Gallery" });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({
      error: "This show's plan has no category 'Gallery'",
      show_id: showId,
      field: "category",
    });
    const tooMany = await best(showId, { count: 5 });
    expect(tooMany.status).toBe(400);
    expect(await tooMany.json()).toMatchObject({ limit: 4, field: "best_available.count" });
    expect(await querySql(showId, "SELECT COUNT(*) AS n FROM held_seats")).toEqual([{ n: 0 }]);
  });
});

describe("best available under contention", () => {
  /**
   * Category A: 150 seats in rows of odd lengths (so that pairs leave seats over), some split
   * by an aisle; category B: two rows nobody asks for.
   */
  function contestedPlan(): Plan {
    const lengths = [7, 9, 11, 13, 5, 15, 9, 11, 13, 17, 9, 11, 7, 13];
    const rows = lengths.map((length, r) => {
      const xs = Array.from({ length }, (_, i) => i * 20 + (r % 3 === 0 && i >= 4 ? 40 : 0) - length * 10);
      return row(`R${r + 1}`, r * 30, xs, "A");
    });
    rows.push(row("X", 600, [0, 20, 40, 60], "B"), row("Y", 630, [0, 20, 40, 60], "B"));
    return hall(rows);
  }

  it("200 simultaneous holds of the best 2: no seat twice, every pair adjacent, and no adjacent pair left after a 409", async () => {
    const plan = contestedPlan();
    const seatsOfA = plan.zones[0]!.rows.flatMap((r) => r.seats).filter((seat) => seat.category === "A");
    expect(seatsOfA.length).toBe(150);
    const showId = await planShow(plan);

    const answers = await Promise.all(Array.from({ length: 200 }, () => best(showId, { count: 2, category: "A" })));
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status !== 201 && status !== 409)).toEqual([]);
    const won = await Promise.all(
      answers.filter((answer) => answer.status === 201).map((answer) => answer.json<{ seats: HeldSeat[] }>()),
    );
    expect(statuses.filter((status) => status === 409).length).toBe(200 - won.length);
    expect(won.length).toBeGreaterThan(0);
    expect(won.length).toBeLessThan(200);

    const held = won.flatMap((hold) => hold.seats.map((seat) => seat.seat_id));
    expect(new Set(held).size).toBe(held.length);
    const stored = await querySql<{ seat_id: string }>(showId, "SELECT seat_id FROM held_seats");
    expect(stored.map((seat) => seat.seat_id).sort()).toEqual([...held].sort());

    const adjacent = adjacency(plan);
    for (const { seats } of won) {
      expect(seats.map((seat) => seat.category)).toEqual(["A", "A"]);
      expect(adjacent.has(`${seats[0]!.seat_id}|${seats[1]!.seat_id}`), JSON.stringify(seats)).toBe(true);
    }

    // Someone was told 409, so no two free seats of category A may still be next to each other.
    const taken = new Set(held);
    const freePairs = [...adjacent].filter((pair) =>
      pair.split("|").every((seat) => !taken.has(seat) && seat.startsWith("R")),
    );
    expect(freePairs).toEqual([]);
  });

  /** "left|right" for every two seats next to each other in a row with no aisle between, from the plan itself. */
  function adjacency(plan: Plan): Set<string> {
    const pairs = new Set<string>();
    for (const zone of plan.zones) {
      for (const r of zone.rows) {
        const gaps = r.seats.slice(1).map((seat, i) => seat.position.x - r.seats[i]!.position.x);
        const closest = Math.min(...gaps);
        gaps.forEach((gap, i) => {
          if (gap <= closest * AISLE_FACTOR) pairs.add(`${r.seats[i]!.seat_guid}|${r.seats[i + 1]!.seat_guid}`);
        });
      }
    }
    return pairs;
  }
});
