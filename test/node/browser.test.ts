/**
 * The seat map page in real headless Chromium (Debian's package, driven by
 * playwright-core; no browser is ever downloaded), against a real `wrangler dev`.
 * Most tests draw a 2,400-seat arena plan in three zones, each on a show of its own.
 * Saves screenshots to artifacts/seat-map.png and, of the waiting room's queue, artifacts/queue.png.
 */
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { chromium, type Browser, type Locator, type Page, type Request } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT, type DevServer } from "../../scripts/lib/dev-server.ts";
import { arenaPlan, type Plan } from "../../scripts/venues/arena.ts";
import { useDevServer } from "./dev-server.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const TOKEN = "browser-test-token";
let devServer: () => DevServer;
export const SCREENSHOT = join(PROJECT_ROOT, "artifacts", "seat-map.png");
const QUEUE_SCREENSHOT = join(PROJECT_ROOT, "artifacts", "queue.png");

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  if (process.env.CI) throw new Error(`CI must run the browser test, but there is no Chromium at ${CHROMIUM}`);
  console.warn(`Skipping the browser test: no Chromium at ${CHROMIUM} (apt-get install chromium).`);
}

/** The arena every plan test draws: 2,400 seats in three zones, categories A, B and C. */
const ARENA_SEATS = 2400;
/** How seats look on the page (public/style.css), as getComputedStyle reports them. */
const BOOKED_FILL = "rgb(185, 185, 185)";
const YOURS_FILL = "rgb(255, 179, 0)";
const SELECTED_FILL = "rgb(17, 17, 17)";
const HELD_FILL = "rgb(255, 255, 255)";

/** How long a page may take to show a change (a live update, an answer): generous, for a loaded machine. */
const UPDATE = { timeout: 15_000 };

let browser: Browser;

async function launchChromium(): Promise<void> {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
}

// ---- Shows and their plans ------------------------------------------------------------------

/** A seat as the test works it out from the plan on its own: where it is and what it is called. */
interface PlacedSeat {
  id: string;
  /** "Zone 2, row 17, seat 4" */
  label: string;
  /** "Zone 2, row 17" */
  where: string;
  number: string;
  category: string;
  x: number;
  y: number;
  /** Its row's index among all rows, in plan order. */
  row: number;
}

/** Every seat of a plan in plan order (zones, rows, seats), placed at zone + row + seat. */
function placedSeats(plan: Plan): PlacedSeat[] {
  const seats: PlacedSeat[] = [];
  let rowIndex = 0;
  for (const zone of plan.zones) {
    for (const row of zone.rows) {
      for (const seat of row.seats) {
        seats.push({
          id: seat.seat_guid,
          label: `${zone.name}, row ${row.row_number}, seat ${seat.seat_number}`,
          where: `${zone.name}, row ${row.row_number}`,
          number: seat.seat_number,
          category: seat.category,
          x: zone.position.x + (row.position?.x ?? 0) + seat.position.x,
          y: zone.position.y + (row.position?.y ?? 0) + seat.position.y,
          row: rowIndex,
        });
      }
      rowIndex++;
    }
  }
  return seats;
}

async function admin(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${devServer().url}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${devServer().url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** A new show with the 2,400-seat arena plan. */
async function newArena(): Promise<{ show: string; plan: Plan; seats: PlacedSeat[] }> {
  const show = `arena-${randomUUID()}`;
  const plan = arenaPlan({ seats: ARENA_SEATS, zones: 3 });
  const created = await admin("PUT", `/admin/shows/${show}`, { name: "Arena", plan });
  expect(created.status).toBe(201);
  return { show, plan, seats: placedSeats(plan) };
}

/** A new show of `seats` seats from a flat list, with any other settings. */
async function newHall(seats: number, settings: Record<string, unknown> = {}): Promise<string> {
  const show = `hall-${randomUUID()}`;
  expect((await admin("PUT", `/admin/shows/${show}`, { name: "Hall", seats, ...settings })).status).toBe(201);
  return show;
}

/**
 * Two new shows of 20 seats, once the show list has both: a page offers the shows the list has
 * when it loads, and the list is a second or two behind.
 */
async function twoListedHalls(): Promise<[string, string]> {
  const halls: [string, string] = [await newHall(20), await newHall(20)];
  const bothListed = async () => {
    const answer = await fetch(`${devServer().url}/api/shows?limit=200`);
    const { shows } = (await answer.json()) as { shows: { show_id: string }[] };
    return halls.every((hall) => shows.some((show) => show.show_id === hall));
  };
  await expect.poll(bothListed, UPDATE).toBe(true);
  return halls;
}

/** The seats' statuses as the server has them, one character each in plan order. */
async function serverStatuses(show: string): Promise<string> {
  const answer = (await (await fetch(`${devServer().url}/api/shows/${show}/statuses`)).json()) as { statuses: string };
  return answer.statuses;
}

/** A ticket in a show's queue, joined by fetch: someone else ahead of the page. */
async function joinQueue(show: string): Promise<void> {
  const joined = await fetch(`${devServer().url}/api/shows/${show}/queue`, { method: "POST" });
  expect(joined.status).toBe(201);
}

/** A request the page made to the queue: when it went (ms), and what it was told. */
interface QueueCall {
  method: string;
  at: number;
  status?: number;
  state?: string;
  retryAfter?: number;
}

/**
 * Records every request the page makes to its show's queue (joining, and polling
 * /api/queue/:ticket_id), across reloads. `settled()` waits until every answer has been read.
 */
function watchQueueCalls(page: Page, show: string): { calls: QueueCall[]; settled: () => Promise<unknown> } {
  const calls: QueueCall[] = [];
  const reading: Promise<void>[] = [];
  const sent = new Map<Request, QueueCall>();
  page.on("request", (request) => {
    const path = new URL(request.url()).pathname;
    if (!path.startsWith("/api/queue/") && path !== `/api/shows/${show}/queue`) return;
    const call = { method: request.method(), at: Date.now() };
    calls.push(call);
    sent.set(request, call);
  });
  page.on("response", (response) => {
    const call = sent.get(response.request());
    if (call === undefined) return;
    call.status = response.status();
    reading.push(
      response.json().then(
        (body: { state?: string; retry_after?: number }) => {
          call.state = body.state;
          call.retryAfter = body.retry_after;
        },
        () => undefined,
      ),
    );
  });
  return { calls, settled: () => Promise.all(reading) };
}

// ---- The page ------------------------------------------------------------------------------

async function openSeatMap(
  show: string,
  viewport = { width: 1280, height: 900 },
  { beforeScripts, watch }: { beforeScripts?: () => void; watch?: (page: Page) => void } = {},
): Promise<Page> {
  const page = await (await browser.newContext({ viewport })).newPage();
  if (beforeScripts) await page.addInitScript(beforeScripts);
  watch?.(page);
  await page.goto(`${devServer().url}/?show=${encodeURIComponent(show)}`);
  await expect.poll(() => page.locator("#connection").textContent(), UPDATE).toBe("Live");
  // Busy until the plan is drawn and the first snapshot has painted it.
  await page.locator('#map[aria-busy="false"]').waitFor();
  // A marker that a reload would wipe: updates must arrive without one.
  await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
  return page;
}

const seat = (page: Page, id: string) => page.locator(`#plan circle[data-seat="${id}"]`);
const fillOf = (circle: Locator) => circle.evaluate((element) => getComputedStyle(element).fill);
const lookOf = (circle: Locator) => circle.getAttribute("class");
const info = (page: Page) => page.locator("#seat-info").textContent();
const message = (page: Page) => page.locator("#message").textContent();
const available = (page: Page, category: string) =>
  page.locator(`#categories li[data-category="${category}"] .count`).textContent();
const notReloaded = (page: Page) => page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded);

async function viewBox(page: Page): Promise<{ x: number; y: number; width: number; height: number }> {
  const [x, y, width, height] = ((await page.locator("#plan").getAttribute("viewBox")) ?? "").split(" ").map(Number);
  return { x: x!, y: y!, width: width!, height: height! };
}

/** `#rrggbb` as getComputedStyle writes it. */
function rgb(hex: string): string {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgb(${r}, ${g}, ${b})`;
}

describe.skipIf(!haveChromium)("the seat map page", () => {
  devServer = useDevServer(TOKEN);
  beforeAll(launchChromium);
  afterAll(() => browser?.close());

  it("draws a 2,400-seat plan in three zones: every seat at its place, zone names, row labels and the stage", async () => {
    const { show, plan, seats } = await newArena();
    const page = await openSeatMap(show);

    const circles = page.locator("#plan circle.seat");
    expect(await circles.count()).toBe(ARENA_SEATS);
    const drawn = await circles.evaluateAll((elements) =>
      elements.map((e) => ({
        id: e.getAttribute("data-seat"),
        x: Number(e.getAttribute("cx")),
        y: Number(e.getAttribute("cy")),
      })),
    );
    expect(drawn).toEqual(seats.map(({ id, x, y }) => ({ id, x, y })));

    // Available seats wear their category's colour.
    const colors = new Map(plan.categories.map((category) => [category.name, rgb(category.color!)]));
    const fills = await circles.evaluateAll((elements) => elements.map((e) => getComputedStyle(e).fill));
    expect(fills).toEqual(seats.map((s) => colors.get(s.category)));

    // Zone names, the stage and a label per row, on screen; the whole plan fits the map.
    const zoneLabels = page.locator("#plan text.zone-label");
    expect(await zoneLabels.allTextContents()).toEqual(["Zone 1", "Zone 2", "Zone 3"]);
    for (const label of await zoneLabels.all()) expect(await label.isVisible()).toBe(true);
    const stage = page.locator("#plan text.area-text");
    expect(await stage.allTextContents()).toEqual(["Stage"]);
    expect(await stage.isVisible()).toBe(true);
    const rows = plan.zones.flatMap((zone) => zone.rows);
    expect(await page.locator("#plan .row-labels text").allTextContents()).toEqual(rows.map((r) => r.row_number));
    // No zone name or area text lies over a seat, nor a zone name over the stage.
    const overlaps = await page.locator("#plan").evaluate((svg) => {
      const boxesOf = (selector: string) =>
        [...svg.querySelectorAll(selector)].map((e) => (e as SVGGraphicsElement).getBBox());
      const seatBoxes = boxesOf("circle.seat");
      const areaBoxes = boxesOf(".area rect");
      const meet = (a: DOMRect, b: DOMRect) =>
        a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
      return [...svg.querySelectorAll("text.zone-label, text.area-text")].flatMap((text) => {
        const box = (text as SVGTextElement).getBBox();
        const under = [...seatBoxes, ...(text.classList.contains("zone-label") ? areaBoxes : [])];
        const hits = under.filter((other) => meet(box, other)).length;
        return hits > 0 ? [`${text.textContent} over ${hits}`] : [];
      });
    });
    expect(overlaps).toEqual([]);
    const frame = (await page.locator("#map").boundingBox())!;
    const all = (await page.locator("#plan g.plan").boundingBox())!;
    expect(all.x).toBeGreaterThanOrEqual(frame.x);
    expect(all.y).toBeGreaterThanOrEqual(frame.y);
    expect(all.x + all.width).toBeLessThanOrEqual(frame.x + frame.width);
    expect(all.y + all.height).toBeLessThanOrEqual(frame.y + frame.height);

    // The legend: each category's swatch, name and availability.
    const legend = await page
      .locator("#categories li")
      .evaluateAll((items) =>
        items.map((li) => [
          getComputedStyle(li.querySelector("circle")!).fill,
          li.querySelector(".name")?.textContent,
          li.querySelector(".count")?.textContent,
        ]),
      );
    expect(legend).toEqual([
      [rgb("#c0392b"), "A", "800 of 800 available"],
      [rgb("#2980b9"), "B", "800 of 800 available"],
      [rgb("#27ae60"), "C", "800 of 800 available"],
    ]);
  });

  it("a booking made through the API recolours that seat at once, and its category's count drops", async () => {
    const { show, seats } = await newArena();
    const page = await openSeatMap(show);
    const target = seats.find((s) => s.category === "A" && s.row === 3)!;
    expect(await fillOf(seat(page, target.id))).toBe(rgb("#c0392b"));

    const booking = await post(`/api/shows/${show}/bookings`, { seat_ids: [target.id], user_id: "erin" });
    expect(booking.status).toBe(200);

    await expect.poll(() => fillOf(seat(page, target.id)), UPDATE).toBe(BOOKED_FILL);
    expect(await lookOf(seat(page, target.id))).toBe("seat booked");
    await expect.poll(() => available(page, "A"), UPDATE).toBe("799 of 800 available");
    expect(await available(page, "B")).toBe("800 of 800 available");
    expect(await page.locator("#plan circle.seat.booked").count()).toBe(1);
    expect(await notReloaded(page)).toBe(true);
  });

  it("picks seats by keyboard (arrow keys, Enter, Space), says where each is, and holds them", async () => {
    const { show, seats } = await newArena();
    const page = await openSeatMap(show);
    await page.getByLabel("Your name").fill("carol");

    // The map is one tab stop; the keyboard lands on the first available seat.
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("map");
    expect(await info(page)).toBe(`${seats[0]!.label}, available, category ${seats[0]!.category}`);
    const ring = page.locator("#plan .focus-ring");
    expect(await ring.evaluate((e) => getComputedStyle(e).visibility)).toBe("visible");

    // Right along the row; Left at a row's start stays put.
    await page.keyboard.press("ArrowLeft");
    expect(await info(page)).toBe(`${seats[0]!.label}, available, category ${seats[0]!.category}`);
    await page.keyboard.press("ArrowRight");
    const first = seats[1]!;
    expect(await info(page)).toBe(`${first.label}, available, category ${first.category}`);
    await page.keyboard.press("Enter");
    expect(await info(page)).toBe(`${first.label}, selected, category ${first.category}`);
    expect(await fillOf(seat(page, first.id))).toBe(SELECTED_FILL);

    // Down to the nearest seat across in the next row.
    await page.keyboard.press("ArrowDown");
    const nextRow = seats.filter((s) => s.row === first.row + 1);
    const second = nextRow.reduce((best, s) => (Math.abs(s.x - first.x) < Math.abs(best.x - first.x) ? s : best));
    expect(await info(page)).toBe(`${second.label}, available, category ${second.category}`);
    expect(await ring.getAttribute("transform")).toBe(`translate(${second.x} ${second.y})`);
    await page.keyboard.press("Space");
    expect(await page.locator("#selection").textContent()).toBe(`Selected: ${first.label}; ${second.label}`);

    // The hold goes out with an Idempotency-Key, so the Worker may repeat it if the show fails mid-call.
    const holdRequest = page.waitForRequest(
      (request) => request.method() === "POST" && request.url().endsWith("/holds"),
    );
    await page.getByRole("button", { name: "Hold selected seats" }).click();
    expect((await holdRequest).headers()["idempotency-key"]).toMatch(/^[0-9a-f-]{36}$/);
    await expect.poll(() => page.locator("#countdown").textContent(), UPDATE).toMatch(/^(10:00|9:[0-5]\d)$/);
    expect(await page.locator("#hold-seats li").allTextContents()).toEqual([first.label, second.label]);
    expect(await lookOf(seat(page, first.id))).toBe("seat mine");
    expect(await lookOf(seat(page, second.id))).toBe("seat mine");
    expect(await fillOf(seat(page, second.id))).toBe(YOURS_FILL);

    // The keyboard's seat is now held by you, and the server holds both.
    expect(await info(page)).toBe(`${second.label}, held by you, category ${second.category}`);
    const places = [first, second].map((s) => seats.indexOf(s));
    await expect
      .poll(async () => [...(await serverStatuses(show))].flatMap((c, i) => (c === "h" ? [i] : [])))
      .toEqual(places);
  });

  it("the best-seats control holds 2 adjacent seats in a category: yours here, held elsewhere, counted in the legend", async () => {
    const { show, seats } = await newArena();
    const buyer = await openSeatMap(show);
    const watcher = await openSeatMap(show);
    expect(await buyer.locator("#best-category option").allTextContents()).toEqual(["Any category", "A", "B", "C"]);

    await buyer.locator("#best-count").fill("2");
    await buyer.locator("#best-category").selectOption("B");
    await buyer.getByRole("button", { name: "Hold best seats" }).click();
    await expect.poll(() => buyer.locator("#countdown").textContent(), UPDATE).toMatch(/^(10:00|9:[0-5]\d)$/);

    const mine = await buyer
      .locator("#plan circle.seat.mine")
      .evaluateAll((e) => e.map((c) => c.getAttribute("data-seat")));
    expect(mine).toHaveLength(2);
    const [left, right] = mine.map((id) => seats.findIndex((s) => s.id === id));
    const [a, b] = [seats[left!]!, seats[right!]!];
    // Side by side: next to each other in plan order, one row, no aisle between (24 apart).
    expect(right).toBe(left! + 1);
    expect([a.category, b.category]).toEqual(["B", "B"]);
    expect(b.row).toBe(a.row);
    expect(Math.hypot(b.x - a.x, b.y - a.y)).toBe(24);
    expect(await buyer.locator("#hold-seats li").allTextContents()).toEqual([a.label, b.label]);
    expect(await message(buyer)).toBe(
      `Held for you: ${a.where}, seats ${a.number} and ${b.number}. Book before the time runs out.`,
    );
    expect(await fillOf(seat(buyer, a.id))).toBe(YOURS_FILL);
    expect(await available(buyer, "B")).toBe("798 of 800 available");
    expect(await buyer.getByRole("button", { name: "Hold best seats" }).isDisabled()).toBe(true);

    await expect.poll(() => lookOf(seat(watcher, a.id)), UPDATE).toBe("seat held");
    expect(await lookOf(seat(watcher, b.id))).toBe("seat held");
    expect(await fillOf(seat(watcher, b.id))).toBe(HELD_FILL);
    await expect.poll(() => available(watcher, "B"), UPDATE).toBe("798 of 800 available");
    expect(await available(watcher, "A")).toBe("800 of 800 available");

    // Released, they are available again everywhere.
    await buyer.getByRole("button", { name: "Release" }).click();
    await expect.poll(() => message(buyer), UPDATE).toBe("Hold released.");
    await expect.poll(() => lookOf(seat(watcher, a.id)), UPDATE).toBe("seat available");
    await expect.poll(() => available(buyer, "B"), UPDATE).toBe("800 of 800 available");
  });

  it("zooms with the buttons, the wheel and the keyboard, pans by dragging, and fits the plan again", async () => {
    const { show } = await newArena();
    const page = await openSeatMap(show);
    const whole = await viewBox(page);

    await page.getByRole("button", { name: "Zoom in" }).click();
    const zoomed = await viewBox(page);
    expect(zoomed.width).toBeCloseTo(whole.width / 1.6, 1);
    expect(zoomed.x + zoomed.width / 2).toBeCloseTo(whole.x + whole.width / 2, 1);

    const frame = (await page.locator("#map").boundingBox())!;
    await page.mouse.move(frame.x + frame.width / 2, frame.y + frame.height / 2);
    await page.mouse.wheel(0, -200);
    await expect.poll(async () => (await viewBox(page)).width, UPDATE).toBeLessThan(zoomed.width);
    const wheeled = await viewBox(page);

    await page.mouse.down();
    await page.mouse.move(frame.x + frame.width / 2 + 120, frame.y + frame.height / 2, { steps: 5 });
    await page.mouse.up();
    const dragged = await viewBox(page);
    expect(dragged.width).toBe(wheeled.width);
    expect(dragged.x).toBeLessThan(wheeled.x);

    await page.locator("#map").focus();
    await page.keyboard.press("-");
    expect((await viewBox(page)).width).toBeGreaterThan(dragged.width);
    await page.keyboard.press("+");
    await page.keyboard.press("+");
    expect((await viewBox(page)).width).toBeLessThan(dragged.width);

    await page.getByRole("button", { name: "Show the whole plan" }).click();
    expect(await viewBox(page)).toEqual(whole);
  });

  it("two pages watch one show: bookings, holds and blocks on one show live on the other (the README's picture)", async () => {
    const { show, seats } = await newArena();
    const buyer = await openSeatMap(show);
    const watcher = await openSeatMap(show);
    const inRow = (row: number) => seats.filter((s) => s.row === row);

    await buyer.getByLabel("Your name").fill("alice");
    const booked = inRow(2)[4]!;
    await seat(buyer, booked.id).click();
    expect(await info(buyer)).toBe(`${booked.label}, selected, category ${booked.category}`);
    await buyer.getByRole("button", { name: "Book selected seats now" }).click();
    await expect.poll(() => message(buyer), UPDATE).toBe(`Booked: ${booked.label}. Enjoy the show!`);
    expect(await lookOf(seat(buyer, booked.id))).toBe("seat mine");
    await expect.poll(() => lookOf(seat(watcher, booked.id)), UPDATE).toBe("seat booked");
    expect(await notReloaded(watcher)).toBe(true);

    // A hold shows a countdown to its holder, and "held" to everyone else.
    await watcher.getByLabel("Your name").fill("bob");
    const [h1, h2] = inRow(40).slice(3, 5) as [PlacedSeat, PlacedSeat];
    await seat(watcher, h1.id).click();
    await seat(watcher, h2.id).click();
    await watcher.getByRole("button", { name: "Hold selected seats" }).click();
    await expect.poll(() => watcher.locator("#countdown").textContent(), UPDATE).toMatch(/^(10:00|9:[0-5]\d)$/);
    expect(await lookOf(seat(watcher, h1.id))).toBe("seat mine");
    await expect.poll(() => lookOf(seat(buyer, h2.id)), UPDATE).toBe("seat held");

    // A seat someone else takes while you have it selected: a clear message, no reload.
    const taken = inRow(2)[8]!;
    await seat(buyer, taken.id).click();
    expect(await post("/api/book-seat/", { show_id: show, seat_id: taken.id })).toHaveProperty("status", 200);
    await expect.poll(() => message(buyer), UPDATE).toBe(`${taken.label} was just taken by someone else.`);
    expect(await lookOf(seat(buyer, taken.id))).toBe("seat booked");

    // Clicking a taken seat explains itself rather than doing nothing.
    await seat(buyer, taken.id).click();
    await expect.poll(() => message(buyer), UPDATE).toBe(`${taken.label} is booked.`);

    // Every status on one screen: the buyer's picture is the one the README shows.
    const block = await admin("POST", `/admin/shows/${show}/seats/block`, {
      seat_ids: inRow(30)
        .slice(0, 6)
        .map((s) => s.id),
      reason: "sound desk",
    });
    expect(block.status).toBe(200);
    for (const row of [5, 6, 7, 30, 31, 55, 56]) {
      const group = await post(`/api/shows/${show}/bookings`, {
        seat_ids: inRow(row)
          .slice(6, 14)
          .map((s) => s.id),
      });
      expect(group.status).toBe(200);
    }
    const otherHold = await post(`/api/shows/${show}/holds`, {
      seat_ids: inRow(60)
        .slice(2, 8)
        .map((s) => s.id),
    });
    expect(otherHold.status).toBe(201);
    await buyer.locator("#best-category").selectOption("A");
    await buyer.locator("#best-count").fill("4");
    await buyer.getByRole("button", { name: "Hold best seats" }).click();
    await expect.poll(() => buyer.locator("#hold-seats li").count(), UPDATE).toBe(4);
    for (const s of inRow(20).slice(10, 13)) await seat(buyer, s.id).click();
    await expect.poll(() => buyer.locator("#plan circle.seat.blocked").count(), UPDATE).toBe(6);
    await expect.poll(() => buyer.locator("#plan circle.seat.held").count(), UPDATE).toBe(2 + 6);
    expect(await buyer.locator("#plan circle.seat.mine").count()).toBe(1 + 4);
    expect(await buyer.locator("#plan circle.seat.selected").count()).toBe(3);
    await expect.poll(() => buyer.locator("#plan circle.seat.booked").count(), UPDATE).toBe(1 + 7 * 8);
    await expect
      .poll(() => buyer.locator("#show option:checked").textContent())
      .toBe(`Arena (${ARENA_SEATS - 58 - 12 - 6} of ${ARENA_SEATS} free)`);
    await mkdir(join(PROJECT_ROOT, "artifacts"), { recursive: true });
    await buyer.mouse.move(0, 0);
    await buyer.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);

    // The holder books the held seats.
    await watcher.getByRole("button", { name: "Book held seats" }).click();
    await expect
      .poll(() => message(watcher))
      .toBe(`Booked: ${h1.where}, seats ${h1.number} and ${h2.number}. Enjoy the show!`);
    await expect.poll(() => lookOf(seat(buyer, h1.id)), UPDATE).toBe("seat booked");
    expect(await lookOf(seat(watcher, h1.id))).toBe("seat mine");
  });

  it("a page that missed a batch asks for it once, however many batches come before the answer", async () => {
    const { show, seats } = await newArena();
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    // Between the page and its relay: drop one batch, count the batches passed on, and keep the
    // page's resyncs back until the test lets them go, as a relay slow to answer would.
    let dropNextBatch = false;
    let batchesPassed = 0;
    let holdResyncs = true;
    const resyncs: string[] = [];
    let release = () => {};
    await page.routeWebSocket(/\/live/, (socket) => {
      const relay = socket.connectToServer();
      socket.onMessage((frame) => {
        if (typeof frame === "string" && frame.includes('"resync"')) {
          resyncs.push(frame);
          if (holdResyncs) {
            const previous = release;
            release = () => (previous(), relay.send(frame));
            return;
          }
        }
        relay.send(frame);
      });
      relay.onMessage((frame) => {
        if (typeof frame === "string" && frame.includes('"changes"')) {
          if (dropNextBatch) return void (dropNextBatch = false);
          batchesPassed++;
        }
        socket.send(frame);
      });
    });
    await page.goto(`${devServer().url}/?show=${encodeURIComponent(show)}`);
    await expect.poll(() => page.locator("#connection").textContent(), UPDATE).toBe("Live");
    await page.locator('#map[aria-busy="false"]').waitFor();

    const booked = seats.slice(0, 4);
    dropNextBatch = true;
    expect((await post("/api/book-seat/", { show_id: show, seat_id: booked[0]!.id })).status).toBe(200);
    await expect.poll(() => dropNextBatch, UPDATE).toBe(false);
    // Three more batches, each one reaching the page before the next booking, all after the gap.
    for (const [i, { id }] of booked.slice(1).entries()) {
      expect((await post("/api/book-seat/", { show_id: show, seat_id: id })).status).toBe(200);
      await expect.poll(() => batchesPassed, UPDATE).toBe(i + 1);
    }
    await expect.poll(() => resyncs.length, UPDATE).toBeGreaterThan(0);
    expect(resyncs).toHaveLength(1);
    // The answer to the one resync brings every seat up to date.
    holdResyncs = false;
    release();
    for (const { id } of booked) await expect.poll(() => lookOf(seat(page, id)), UPDATE).toBe("seat booked");
    expect(resyncs).toHaveLength(1);
    await page.context().close();
  });

  it("answers the relay's echo at once with the same message, and stays live", async () => {
    const { show, seats } = await newArena();
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    // Between the page and its relay: the test sends the page an echo of its own (a relay sends
    // one after about 32 KiB, which a 2,400-seat show's greeting is not) and keeps the answer.
    const answers: string[] = [];
    let toPage: (frame: string) => void = () => {};
    await page.routeWebSocket(/\/live/, (socket) => {
      const relay = socket.connectToServer();
      toPage = (frame) => socket.send(frame);
      socket.onMessage((frame) => {
        if (typeof frame === "string" && frame.includes('"echo"')) return void answers.push(frame);
        relay.send(frame);
      });
      relay.onMessage((frame) => socket.send(frame));
    });
    await page.goto(`${devServer().url}/?show=${encodeURIComponent(show)}`);
    await expect.poll(() => page.locator("#connection").textContent(), UPDATE).toBe("Live");
    await page.locator('#map[aria-busy="false"]').waitFor();
    const echo = JSON.stringify({ type: "echo", nonce: "from-the-test" });
    toPage(echo);
    await expect.poll(() => answers, UPDATE).toEqual([echo]);
    expect((await post("/api/book-seat/", { show_id: show, seat_id: seats[0]!.id })).status).toBe(200);
    await expect.poll(() => lookOf(seat(page, seats[0]!.id)), UPDATE).toBe("seat booked");
    await page.context().close();
  });

  it("asks again at once when its resync crossed an echo and was refused", async () => {
    const { show, seats } = await newArena();
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    // Between the page and its relay: drop one batch (a gap), and answer the page's first resync
    // as a relay does one that came while the page owed an echo.
    let dropNextBatch = false;
    const resyncs: string[] = [];
    await page.routeWebSocket(/\/live/, (socket) => {
      const relay = socket.connectToServer();
      socket.onMessage((frame) => {
        if (typeof frame === "string" && frame.includes('"resync"')) {
          resyncs.push(frame);
          if (resyncs.length === 1) {
            const refusal = { type: "error", error: "Answer the echo first, then resync", reason: "echo_owed" };
            return void socket.send(JSON.stringify(refusal));
          }
        }
        relay.send(frame);
      });
      relay.onMessage((frame) => {
        if (typeof frame === "string" && frame.includes('"changes"') && dropNextBatch) {
          return void (dropNextBatch = false);
        }
        socket.send(frame);
      });
    });
    await page.goto(`${devServer().url}/?show=${encodeURIComponent(show)}`);
    await expect.poll(() => page.locator("#connection").textContent(), UPDATE).toBe("Live");
    await page.locator('#map[aria-busy="false"]').waitFor();
    const [missed, next] = seats;
    dropNextBatch = true;
    expect((await post("/api/book-seat/", { show_id: show, seat_id: missed!.id })).status).toBe(200);
    await expect.poll(() => dropNextBatch, UPDATE).toBe(false);
    // The next batch shows the gap; the page's resync is refused, and it asks again, once.
    expect((await post("/api/book-seat/", { show_id: show, seat_id: next!.id })).status).toBe(200);
    await expect.poll(() => lookOf(seat(page, missed!.id)), UPDATE).toBe("seat booked");
    expect(resyncs).toHaveLength(2);
    expect(resyncs[1]).toBe(resyncs[0]);
    await page.context().close();
  });

  it("asks again only once when the relay keeps refusing its resync for an owed echo", async () => {
    const { show } = await newArena();
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    const resyncs: number[] = [];
    let toPage: (frame: string) => void = () => {};
    await page.routeWebSocket(/\/live/, (socket) => {
      const relay = socket.connectToServer();
      toPage = (frame) => socket.send(frame);
      socket.onMessage((frame) => {
        if (typeof frame === "string" && frame.includes('"resync"')) {
          resyncs.push(Date.now());
          const refusal = { type: "error", error: "Answer the echo first, then resync", reason: "echo_owed" };
          return void socket.send(JSON.stringify(refusal));
        }
        relay.send(frame);
      });
      relay.onMessage((frame) => socket.send(frame));
    });
    await page.goto(`${devServer().url}/?show=${encodeURIComponent(show)}`);
    await expect.poll(() => page.locator("#connection").textContent(), UPDATE).toBe("Live");
    await page.locator('#map[aria-busy="false"]').waitFor();
    // A gap: the page asks for a resync, is refused, asks once more, is refused again; then it waits.
    toPage(JSON.stringify({ type: "changes", layout: 1, since: 1_000_000, version: 1_000_001, changes: [] }));
    await expect.poll(() => resyncs.length, UPDATE).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(resyncs).toHaveLength(2);
    await page.context().close();
  });

  it("backs off, with jitter, from a relay that accepts its socket and closes it at once", async () => {
    const { show } = await newArena();
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    const connects: number[] = [];
    await page.routeWebSocket(/\/live/, (socket) => {
      connects.push(Date.now());
      setTimeout(() => socket.close({ code: 1011, reason: "broken" }), 10);
    });
    await page.goto(`${devServer().url}/?show=${encodeURIComponent(show)}`);
    await expect.poll(() => connects.length, UPDATE).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 6000));
    // Waits of 0.5, 1, 2, 4 s, each 0.5-1.5 times as long: at most five sockets in six seconds (a
    // page that started each wait again at 0.5 s, as it did, opened about twelve).
    const inSixSeconds = connects.filter((at) => at - connects[0]! <= 6000);
    expect(inSixSeconds.length).toBeLessThanOrEqual(5);
    expect(inSixSeconds.length).toBeGreaterThanOrEqual(3);
    await page.context().close();
  });

  it("cannot be made to book by a page of another site in the visitor's browser", async () => {
    const { show, seats } = await newArena();
    // Another site: a page of its own at another host (the service is at 127.0.0.1; another port
    // of it would be the same site), whose script posts as a form or a no-cors fetch would,
    // without a preflight.
    const other = createServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/html" });
      response.end("<!doctype html><title>Another site</title>");
    });
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    const page = await (await browser.newContext()).newPage();
    try {
      await page.goto(`http://localhost:${(other.address() as AddressInfo).port}/`);
      const seatIds = seats.slice(0, 5).map((placed) => placed.id);
      await page.evaluate(
        async ({ url, seatIds }) => {
          await fetch(url, {
            method: "POST",
            mode: "no-cors",
            headers: { "content-type": "text/plain" },
            body: JSON.stringify({ seat_ids: seatIds }),
          });
        },
        { url: `${devServer().url}/api/shows/${show}/bookings`, seatIds },
      );
      expect(await serverStatuses(show)).not.toContain("b");
      // The same request from this site's own page books.
      await page.goto(`${devServer().url}/?show=${encodeURIComponent(show)}`);
      const status = await page.evaluate(
        async ({ url, seatIds }) =>
          (
            await fetch(url, {
              method: "POST",
              headers: { "content-type": "text/plain" },
              body: JSON.stringify({ seat_ids: seatIds }),
            })
          ).status,
        { url: `${devServer().url}/api/shows/${show}/bookings`, seatIds },
      );
      expect(status).toBe(200);
      // (The statuses are a copy at most a second old.)
      await expect.poll(async () => (await serverStatuses(show)).split("b").length - 1, UPDATE).toBe(5);
    } finally {
      await page.context().close();
      other.close();
    }
  });

  it("opens the show its address names even before the show list has it, and says when there is none", async () => {
    const { show, seats } = await newArena();
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    // The list as it was a moment before the show was created: every show but this one.
    await page.route(/\/api\/shows\?/, async (route) => {
      const listed = (await (await route.fetch()).json()) as { shows: { show_id: unknown }[] };
      await route.fulfill({ json: { ...listed, shows: listed.shows.filter((s) => s.show_id !== show) } });
    });
    await page.goto(`${devServer().url}/?show=${encodeURIComponent(show)}`);
    await expect.poll(() => page.locator("#connection").textContent(), UPDATE).toBe("Live");
    await page.locator('#map[aria-busy="false"]').waitFor();
    expect(new URL(page.url()).searchParams.get("show")).toBe(show);
    expect(await seat(page, seats[0]!.id).count()).toBe(1);
    // Named as the show is (its statuses say), not by its id.
    expect(await page.locator("#show option:checked").textContent()).toBe("Arena (2400 of 2400 free)");

    // A show that does not exist is said so, without quoting the address: a link's text is not this site's to show.
    await page.goto(`${devServer().url}/?show=${encodeURIComponent("x. Payment failed: call +44 20 7946 0000")}`);
    await expect
      .poll(() => message(page), UPDATE)
      .toBe("The show in the address was not found; here is the first one instead.");
    expect(new URL(page.url()).searchParams.get("show")).toBe("1");
    // However long (a URL past its limit once got a 414, which was taken for a show that answered).
    await page.goto(`${devServer().url}/?show=${encodeURIComponent("Sold out. Pay by bank transfer. ".repeat(70))}`);
    await expect
      .poll(() => message(page), UPDATE)
      .toBe("The show in the address was not found; here is the first one instead.");
    expect(await page.locator("#show").evaluate((select: HTMLSelectElement) => select.value)).toBe("1");

    // A show the service cannot answer for just then (429, 503, no answer at all) is opened all the
    // same, not called missing.
    for (const fail of ["503", "abort"]) {
      await page.unroute(/\/statuses$/);
      await page.route(/\/statuses$/, (route) =>
        fail === "abort" ? route.abort() : route.fulfill({ status: 503, json: { error: "Busy" } }),
      );
      await page.goto(`${devServer().url}/?show=${encodeURIComponent(show)}`);
      await expect.poll(() => page.locator("#connection").textContent(), UPDATE).toBe("Live");
      expect(new URL(page.url()).searchParams.get("show"), fail).toBe(show);
      expect(await message(page)).toBe("");
    }
    await page.context().close();
  });

  it("keys its bookings where crypto.randomUUID is missing too, as on a page opened at a LAN address", async () => {
    const show = `no-uuid-${randomUUID()}`;
    expect((await admin("PUT", `/admin/shows/${show}`, { name: "Plain http", seats: 4 })).status).toBe(201);
    // Outside a secure context (HTTPS or localhost) browsers have no crypto.randomUUID.
    const page = await openSeatMap(show, undefined, {
      beforeScripts: () => Reflect.deleteProperty(Crypto.prototype, "randomUUID"),
    });
    expect(await page.evaluate(() => typeof crypto.randomUUID)).toBe("undefined");
    const booking = page.waitForRequest(
      (request) => request.method() === "POST" && request.url().endsWith("/bookings"),
    );
    await seat(page, "2").click();
    await page.getByRole("button", { name: "Book selected seats now" }).click();
    const key = (await booking).headers()["idempotency-key"];
    expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    await expect.poll(() => message(page), UPDATE).toBe("Booked: Hall, row 1, seat 2. Enjoy the show!");
  });

  it("keeps the page's Content-Security-Policy: it loads, goes live and books with no violation", async () => {
    const show = `csp-${randomUUID()}`;
    expect((await admin("PUT", `/admin/shows/${show}`, { name: "Policed", seats: 4 })).status).toBe(201);
    const served = await fetch(`${devServer().url}/`);
    expect(served.headers.get("content-security-policy")).toContain("default-src 'self'; connect-src 'self'");
    expect(served.headers.get("x-content-type-options")).toBe("nosniff");
    const page = await openSeatMap(show, undefined, {
      beforeScripts: () => {
        const seen: string[] = [];
        (window as unknown as { violations: string[] }).violations = seen;
        document.addEventListener("securitypolicyviolation", (event) => seen.push(event.violatedDirective));
      },
    });
    await seat(page, "3").click();
    await page.getByRole("button", { name: "Book selected seats now" }).click();
    await expect.poll(() => message(page), UPDATE).toBe("Booked: Hall, row 1, seat 3. Enjoy the show!");
    expect(await page.evaluate(() => (window as unknown as { violations: string[] }).violations)).toEqual([]);
    // The policy is in force: a script from elsewhere is refused.
    await page.evaluate(() => {
      const script = document.createElement("script");
      script.src = "https://example.com/x.js";
      document.head.append(script);
    });
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { violations: string[] }).violations), UPDATE)
      .toEqual(["script-src-elem"]);
  });

  it("books a seat whose id is 20 digits, which no JSON number can carry", async () => {
    const longId = "99999999999999999999";
    const show = `long-ids-${randomUUID()}`;
    const created = await admin("PUT", `/admin/shows/${show}`, {
      name: "Long ids",
      seats: [longId, "12345678901234567"],
    });
    expect(created.status).toBe(201);
    const page = await openSeatMap(show);
    await page.getByLabel("Your name").fill("dana");
    await seat(page, longId).click();
    await page.getByRole("button", { name: "Book selected seats now" }).click();
    await expect.poll(() => message(page), UPDATE).toBe("Booked: Hall, row 1, seat 1. Enjoy the show!");
    expect(await lookOf(seat(page, longId))).toBe("seat mine");
    // The map is served from copies up to a second old (SEAT_MAP_MAX_AGE_SECONDS), shared with the
    // statuses the page read when it opened.
    const mapSeats = async () =>
      (
        (await (await fetch(`${devServer().url}/api/shows/${show}/seats`)).json()) as {
          seats: { seat_id: number | string; status: string }[];
        }
      ).seats;
    await expect.poll(mapSeats, UPDATE).toEqual([
      { seat_id: longId, status: "booked" },
      { seat_id: "12345678901234567", status: "available" },
    ]);

    // Two seats side by side are no longer to be had: the page says so, and holds nothing.
    await page.getByRole("button", { name: "Hold best seats" }).click();
    await expect.poll(() => message(page), UPDATE).toBe("No block of that many adjacent available seats is left");
    expect(await page.locator("#your-hold").isHidden()).toBe(true);
    expect(await lookOf(seat(page, "12345678901234567"))).toBe("seat available");
  });

  it("queues for a show whose waiting room is on: position, wait and progress, polled as told; admitted, it holds with its pass", async () => {
    const show = `queue-${randomUUID()}`;
    const seats = Array.from({ length: 12 }, (_, i) => `q${i + 1}`);
    expect((await admin("PUT", `/admin/shows/${show}`, { name: "Queued", seats })).status).toBe(201);
    // Open since a second ago, one buyer in every 2 seconds.
    const room = await admin("PUT", `/admin/shows/${show}/waiting-room`, {
      opens_at: new Date(Date.now() - 1000).toISOString(),
      admit_per_minute: 30,
      session_minutes: 10,
    });
    expect(room.status).toBe(201);
    try {
      // The room is really on: a booking without a pass is refused.
      const refused = await post(`/api/shows/${show}/bookings`, { seat_ids: ["q1"] });
      expect(refused.status).toBe(403);
      expect(await refused.json()).toEqual({
        error:
          "This show's on-sale has a waiting room: join the queue (POST /api/shows/:show_id/queue) and send the pass it gives you in the Admission-Pass header",
        show_id: show,
        reason: "missing",
      });

      const page = await openSeatMap(show, { width: 360, height: 740 });
      const { calls, settled } = watchQueueCalls(page, show);
      const controls = () =>
        page.evaluate(() =>
          ["hold", "book", "best-submit"].map((id) => (document.getElementById(id) as HTMLButtonElement).disabled),
        );
      const heading = () => page.locator("#queue-heading").textContent();
      await page.locator("#queue").waitFor();
      expect(await heading()).toBe("This on-sale has a waiting room");
      expect(await page.locator("#queue-intro").textContent()).toBe(
        "Buyers are let in a few at a time (30 a minute), in the order they joined. You can look at the seat map meanwhile; holding and booking open when it is your turn.",
      );
      expect(await controls()).toEqual([true, true, true]);
      expect(await page.locator("#gate-hint").isVisible()).toBe(true);

      // Two buyers join just before the page does.
      await joinQueue(show);
      await joinQueue(show);
      const answer = page.waitForResponse((r) => r.url().endsWith(`/api/shows/${show}/queue`));
      await page.getByRole("button", { name: "Join the queue" }).click();
      const joined = (await (await answer).json()) as { position: number; retry_after: number };
      const joinedAt = Date.now();
      // The position is the server's estimate (ahead in the ticket's shard x shards, + 1).
      const place =
        joined.position === 1 ? "You are next in the queue" : `You are number ${joined.position} in the queue`;
      await expect.poll(() => page.locator("#queue-position").textContent()).toBe(place);
      expect(await page.locator("#queue-wait").textContent()).toMatch(
        /^Estimated wait: (a few seconds|about \d+ seconds|about a minute)$/,
      );
      expect(
        await page.locator("#queue-progress").evaluate((bar: HTMLProgressElement) => [bar.max, bar.value]),
      ).toEqual([joined.position, 0]);
      expect(await page.locator("#queue-next").textContent()).toMatch(
        /^Next check at .+ \(in [1-9]\d* s\)\. Keep this page open/,
      );
      expect(await controls()).toEqual([true, true, true]);
      expect(await page.locator("#gate-hint").textContent()).toContain("Holding and booking open when it is your turn");
      // The map is there to look at, not to pick from, while waiting.
      await seat(page, "q3").click();
      expect(await message(page)).toBe("You can pick seats once it is your turn in the queue.");
      expect(await lookOf(seat(page, "q3"))).toBe("seat available");

      // A reload keeps the place: no second ticket, and the next poll still waits as it was told.
      await page.reload();
      await page.locator("#queue-waiting").waitFor();
      expect(await page.locator("#queue-position").textContent()).toMatch(/^You are (next|number \d+) in the queue$/);
      expect(await page.getByRole("button", { name: "Leave the queue" }).isVisible()).toBe(true);
      expect(await controls()).toEqual([true, true, true]);
      await mkdir(join(PROJECT_ROOT, "artifacts"), { recursive: true });
      await page.locator("#queue").screenshot({ path: QUEUE_SCREENSHOT });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);

      // Admitted in turn: said so, with the session's time; the controls open.
      await expect.poll(heading, { timeout: 15_000 }).toBe("It's your turn");
      const admittedAfter = Date.now() - joinedAt;
      expect(await page.locator("#queue-status").textContent()).toMatch(
        /^It's your turn! You can hold and book seats until /,
      );
      expect(await page.locator("#pass-left").textContent()).toMatch(/^(10:00|9:[0-5]\d)$/);
      expect(await page.locator("#gate-hint").isHidden()).toBe(true);
      await page.locator('#map[aria-busy="false"]').waitFor();
      await seat(page, "q3").click();
      expect(await controls()).toEqual([false, false, false]);

      // Holding through the page works: it sends the pass.
      const holdRequest = page.waitForRequest((r) => r.url().endsWith(`/api/shows/${show}/holds`));
      await page.getByRole("button", { name: "Hold selected seats" }).click();
      const pass = await page.evaluate(
        (key) => JSON.parse(sessionStorage.getItem(key)!).pass as string,
        `waiting-room:${show}`,
      );
      expect(pass).toMatch(/^ap1\./);
      expect((await holdRequest).headers()["admission-pass"]).toBe(pass);
      await expect.poll(() => page.locator("#countdown").textContent(), UPDATE).toMatch(/^(10:00|9:[0-5]\d)$/);
      await expect.poll(async () => (await serverStatuses(show))[2]).toBe("h");

      // Ending the session gives the slot up: the pass is forgotten, the held seats can still be booked.
      await page.getByRole("button", { name: "End my session" }).click();
      await expect
        .poll(() => page.locator("#queue-status").textContent())
        .toBe("Session ended: your slot goes to the next buyer.");
      expect(await page.getByRole("button", { name: "Join the queue" }).isVisible()).toBe(true);
      expect(await page.evaluate((key) => sessionStorage.getItem(key), `waiting-room:${show}`)).toBeNull();
      expect(await page.getByRole("button", { name: "Book held seats" }).isEnabled()).toBe(true);

      // One ticket, polled never sooner than the server said, and not at all once admitted.
      await settled();
      const polls = calls.filter((call) => call.method === "GET");
      expect(calls[0]).toMatchObject({ method: "POST", status: 201 });
      expect(calls.filter((call) => call.method === "POST")).toHaveLength(1);
      expect(calls.at(-1)).toMatchObject({ method: "DELETE", status: 200 });
      expect(polls.map((call) => call.status).filter((status) => status !== 200)).toEqual([]);
      expect(polls.at(-1)?.state).toBe("admitted");
      expect(polls.filter((call) => call.state === "admitted")).toHaveLength(1);
      let told = 0;
      const gaps: { gap: number; told: number }[] = [];
      for (const [i, call] of calls.entries()) {
        if (i > 0 && call.method === "GET") gaps.push({ gap: call.at - calls[i - 1]!.at, told });
        // A poll that a reload cut off has no answer: the wait told before it still holds.
        told = call.retryAfter ?? told;
      }
      expect(gaps.length).toBe(polls.length);
      for (const { gap, told } of gaps) expect(gap).toBeGreaterThanOrEqual(told * 1000 - 250);
      console.log(`queue: admitted ${admittedAfter} ms after joining; polls ${JSON.stringify(gaps)}`);
    } finally {
      expect((await admin("DELETE", `/admin/shows/${show}/waiting-room`)).status).toBe(200);
    }
  });

  it("waits at least a second after a 429 that says Retry-After: 0, as a broken proxy might", async () => {
    const show = `queue-${randomUUID()}`;
    expect((await admin("PUT", `/admin/shows/${show}`, { name: "Queued", seats: 4 })).status).toBe(201);
    const room = await admin("PUT", `/admin/shows/${show}/waiting-room`, {
      opens_at: new Date(Date.now() - 1000).toISOString(),
      admit_per_minute: 1,
      session_minutes: 10,
    });
    expect(room.status).toBe(201);
    // Someone ahead, so that the page's ticket waits and polls.
    await joinQueue(show);
    const page = await openSeatMap(show);
    let polls = 0;
    await page.route(/\/api\/queue\//, async (route) => {
      if (route.request().method() !== "GET") return route.continue();
      polls++;
      await route.fulfill({ status: 429, headers: { "retry-after": "0" }, json: { error: "Too early" } });
    });
    await page.getByRole("button", { name: "Join the queue" }).click();
    await expect.poll(() => polls, { timeout: 30_000 }).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(polls).toBeLessThanOrEqual(4);
    await page.context().close();
  });

  it("fits a phone's width, with the whole plan and the zoom buttons in view", async () => {
    const { show } = await newArena();
    const page = await openSeatMap(show, { width: 360, height: 740 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    expect(await page.locator("#plan circle.seat").count()).toBe(ARENA_SEATS);
    const frame = (await page.locator("#map").boundingBox())!;
    expect(frame.x).toBeGreaterThanOrEqual(0);
    expect(frame.x + frame.width).toBeLessThanOrEqual(360);
    const all = (await page.locator("#plan g.plan").boundingBox())!;
    expect(all.x + all.width).toBeLessThanOrEqual(frame.x + frame.width);
    for (const name of ["Zoom in", "Zoom out", "Show the whole plan"]) {
      const button = (await page.getByRole("button", { name }).boundingBox())!;
      expect(button.x + button.width).toBeLessThanOrEqual(360);
    }
  });

  it("ends its hold when the show frees the seats, and draws another buyer's hold of them as theirs", async () => {
    const show = await newHall(20);
    const page = await openSeatMap(show);
    await seat(page, "5").click();
    await page.getByRole("button", { name: "Hold selected seats" }).click();
    await expect.poll(() => lookOf(seat(page, "5")), UPDATE).toBe("seat mine");
    // The admin frees the seat (which ends the whole hold), and someone else holds it.
    expect((await admin("DELETE", `/admin/shows/${show}/seats/5/booking`)).status).toBe(200);
    await expect.poll(() => lookOf(seat(page, "5")), UPDATE).toBe("seat available");
    expect(await page.locator("#your-hold").isVisible()).toBe(false);
    expect(await message(page)).toBe("Your hold has ended: its seats are free again.");
    expect((await post(`/api/shows/${show}/holds`, { seat_ids: [5], user_id: "mallory" })).status).toBe(201);
    await expect.poll(() => lookOf(seat(page, "5")), UPDATE).toBe("seat held");
    await page.context().close();
  });

  /** Holds the answers to requests matching `path` until `answered()`: the live update comes first. */
  async function answerLate(page: Page, path: RegExp): Promise<{ answered: () => void }> {
    const late = { answered: () => {} };
    await page.route(path, async (route) => {
      const response = await route.fetch();
      await new Promise<void>((resolve) => (late.answered = resolve));
      await route.fulfill({ response });
    });
    return late;
  }

  /** The page's own changes of a seat: how it asks for each, and what the seat becomes. */
  const OWN_CHANGES = {
    hold: { what: "a hold", path: /\/holds$/, button: "Hold selected seats", status: "held" },
    booking: { what: "a booking", path: /\/bookings$/, button: "Book selected seats now", status: "booked" },
  };

  /**
   * A page on a new 20-seat show that asked for `change` of seat 5, whose answer is held back
   * (`late.answered()` lets it go) until the live update has drawn the seat as the change made it.
   */
  async function ownChangeAnsweredLate(change: (typeof OWN_CHANGES)["hold"]) {
    const show = await newHall(20);
    const page = await openSeatMap(show);
    const late = await answerLate(page, change.path);
    await seat(page, "5").click();
    await page.getByRole("button", { name: change.button }).click();
    await expect.poll(() => lookOf(seat(page, "5")), UPDATE).toBe(`seat ${change.status}`);
    return { show, page, late };
  }

  it.each([
    {
      ...OWN_CHANGES.hold,
      theirs: (show: string) => post(`/api/shows/${show}/holds`, { seat_ids: [5], user_id: "mallory" }),
    },
    {
      ...OWN_CHANGES.booking,
      theirs: (show: string) => post("/api/book-seat/", { show_id: show, seat_id: 5, user_id: "mallory" }),
    },
  ])(
    "no longer calls $what its own once the show frees its seat, though its live update came before its answer",
    async ({ theirs, ...change }) => {
      const { show, page, late } = await ownChangeAnsweredLate(change);
      late.answered();
      await expect.poll(() => lookOf(seat(page, "5")), UPDATE).toBe("seat mine");
      // The admin frees the seat (which ends the whole hold), and someone else takes it.
      expect((await admin("DELETE", `/admin/shows/${show}/seats/5/booking`)).status).toBe(200);
      await expect.poll(() => lookOf(seat(page, "5")), UPDATE).toBe("seat available");
      expect(await page.locator("#your-hold").isVisible()).toBe(false);
      expect((await theirs(show)).ok).toBe(true);
      await expect.poll(() => lookOf(seat(page, "5")), UPDATE).toBe(`seat ${change.status}`);
      await page.context().close();
    },
  );

  it.each([
    { ...OWN_CHANGES.hold, told: "Your hold ended before its answer reached you: its seats are free again." },
    {
      ...OWN_CHANGES.booking,
      told: "Your booking of Hall, row 1, seat 5 was cancelled before the answer reached you.",
    },
  ])("does not take for its own $what the show ended before its answer came", async ({ told, ...change }) => {
    const { show, page, late } = await ownChangeAnsweredLate(change);
    // The admin frees the seat while the answer is on its way.
    expect((await admin("DELETE", `/admin/shows/${show}/seats/5/booking`)).status).toBe(200);
    await expect.poll(() => lookOf(seat(page, "5")), UPDATE).toBe("seat available");
    late.answered();
    await expect.poll(() => message(page), UPDATE).toBe(told);
    expect(await lookOf(seat(page, "5"))).toBe("seat available");
    expect(await page.locator("#your-hold").isVisible()).toBe(false);
    await page.context().close();
  });

  it("shows the seats its confirmation booked as its own, though the answer came after its countdown ran out", async () => {
    const show = await newHall(20);
    const page = await openSeatMap(show);
    await seat(page, "4").click();
    await page.getByRole("button", { name: "Hold selected seats" }).click();
    await expect.poll(() => message(page), UPDATE).toMatch(/^Held for you/);
    // The server books within the hold's time; the page's countdown (good to a second) runs out
    // while the answer is on its way.
    await page.route(/\/confirm$/, async (route) => {
      const response = await route.fetch();
      await page.evaluate(() => {
        const real = Date.now;
        Date.now = () => real() + 11 * 60_000;
      });
      await expect.poll(() => message(page), UPDATE).toBe("Your hold expired and the seats were released.");
      await route.fulfill({ response });
    });
    await page.getByRole("button", { name: "Book held seats" }).click();
    await expect.poll(() => message(page), UPDATE).toMatch(/^Booked:/);
    await expect.poll(() => lookOf(seat(page, "4")), UPDATE).toBe("seat mine");
    await page.context().close();
  });

  it.each([
    {
      what: "confirmation",
      button: "Book held seats",
      path: /\/confirm$/,
      status: 503,
      error: "This show is briefly unavailable; retry shortly",
    },
    {
      what: "release",
      button: "Release",
      path: /\/api\/holds\/[^/]+$/,
      status: 429,
      error: "Too many requests from this address; slow down and retry later",
    },
  ])("keeps its hold when its $what is refused with $status, which leaves the hold as it was", async (refusal) => {
    const show = await newHall(20);
    const page = await openSeatMap(show);
    await seat(page, "4").click();
    await page.getByRole("button", { name: "Hold selected seats" }).click();
    await expect.poll(() => message(page), UPDATE).toMatch(/^Held for you/);
    await page.route(refusal.path, (route) =>
      route.fulfill({ status: refusal.status, headers: { "retry-after": "1" }, json: { error: refusal.error } }),
    );
    await page.getByRole("button", { name: refusal.button }).click();
    await expect.poll(() => message(page), UPDATE).toBe(refusal.error);
    expect(await page.locator("#your-hold").isVisible()).toBe(true);
    expect(await lookOf(seat(page, "4"))).toBe("seat mine");
    // Asked again once the show answers, it goes through.
    await page.unroute(refusal.path);
    await page.getByRole("button", { name: refusal.button }).click();
    await expect.poll(() => message(page), UPDATE).toMatch(/^(Booked:|Hold released\.)/);
    await page.context().close();
  });

  it("keeps a new hold when the updates of the hold it released before come late, all at once", async () => {
    const show = await newHall(3);
    let late: string[] | null = null;
    let toPage: (message: string) => void = () => {};
    const page = await (await browser.newContext()).newPage();
    await page.routeWebSocket(/\/live/, (socket) => {
      const server = socket.connectToServer();
      toPage = (message) => socket.send(message);
      server.onMessage((message) => {
        const text = String(message);
        if (late !== null && text.includes('"changes"')) late.push(text);
        else socket.send(text);
      });
    });
    await page.goto(`${devServer().url}/?show=${encodeURIComponent(show)}`);
    await expect.poll(() => page.locator("#connection").textContent(), UPDATE).toBe("Live");
    await page.locator('#map[aria-busy="false"]').waitFor();
    const holdBest = async () => {
      await page.getByRole("button", { name: "Hold best seats" }).click();
      await expect.poll(() => message(page), UPDATE).toMatch(/^Held for you/);
    };
    // From here the live updates lag (a slow socket; a reconnect's catch-up brings them at once):
    // the buyer holds the best two, releases them, and holds the same two again.
    late = [];
    await holdBest();
    await page.getByRole("button", { name: "Release" }).click();
    await expect.poll(() => message(page), UPDATE).toBe("Hold released.");
    await holdBest();
    // (The statuses are served from copies up to a second old.)
    await expect.poll(async () => (await serverStatuses(show)).split("").sort().join(""), UPDATE).toBe("ahh");
    const statuses = await serverStatuses(show);
    await expect.poll(() => late!.length, UPDATE).toBeGreaterThanOrEqual(3);
    const pending = late;
    late = null;
    for (const text of pending) toPage(text);
    // A booking of the third seat after them: once the page shows it, it has read them all.
    const free = statuses.indexOf("a") + 1;
    expect((await post("/api/book-seat/", { show_id: show, seat_id: free, user_id: "mallory" })).status).toBe(200);
    await expect.poll(() => lookOf(seat(page, String(free))), UPDATE).toBe("seat booked");
    for (const id of ["1", "2", "3"].filter((id) => id !== String(free))) {
      expect(await lookOf(seat(page, id))).toBe("seat mine");
    }
    expect(await page.locator("#your-hold").isVisible()).toBe(true);
    await page.context().close();
  });

  it("lets go of a hold whose answer comes after the buyer turned to another show, and shows it on neither", async () => {
    const [first, other] = await twoListedHalls();
    const page = await openSeatMap(first);
    const late = await answerLate(page, /\/holds$/);
    await seat(page, "7").click();
    await page.getByRole("button", { name: "Hold selected seats" }).click();
    await expect.poll(async () => (await serverStatuses(first))[6], UPDATE).toBe("h");
    await page.locator("#show").selectOption(other);
    await page.locator('#map[aria-busy="false"]').waitFor();
    late.answered();
    await expect.poll(async () => (await serverStatuses(first))[6], UPDATE).toBe("a");
    expect(await page.locator("#your-hold").isVisible()).toBe(false);
    expect(await lookOf(seat(page, "7"))).toBe("seat available");
    await page.context().close();
  });

  it("no longer calls a seat it booked its own once a reset that comes as a snapshot frees it", async () => {
    // A reset of more than 1,000 seats reaches the relays as a reset: the page gets the layout and a snapshot.
    const show = await newHall(1200, { max_seats_per_order: 100 });
    const frames: string[] = [];
    const page = await openSeatMap(show, undefined, {
      watch: (page) =>
        page.on("websocket", (socket) => socket.on("framereceived", (frame) => frames.push(String(frame.payload)))),
    });
    await seat(page, "1").click();
    await page.getByRole("button", { name: "Book selected seats now" }).click();
    await expect.poll(() => lookOf(seat(page, "1")), UPDATE).toBe("seat mine");
    for (let first = 2; first <= 1101; first += 100) {
      const seatIds = Array.from({ length: 100 }, (_, i) => first + i);
      expect((await post(`/api/shows/${show}/bookings`, { seat_ids: seatIds })).status).toBe(200);
    }
    await expect.poll(() => page.locator("#plan circle.seat.booked").count(), UPDATE).toBe(1100);
    expect((await admin("DELETE", `/admin/shows/${show}/bookings`)).status).toBe(200);
    await expect.poll(() => lookOf(seat(page, "1")), UPDATE).toBe("seat available");
    expect((await post("/api/book-seat/", { show_id: show, seat_id: 1, user_id: "mallory" })).status).toBe(200);
    await expect.poll(() => lookOf(seat(page, "1")), UPDATE).toBe("seat booked");
    // The reset reached the page as a snapshot, not as seat changes.
    expect(frames.some((frame) => frame.includes('"type":"snapshot"'))).toBe(true);
    await page.context().close();
  });

  it("counts a hold down by the server's clock, though the browser's is eleven minutes fast", async () => {
    const show = await newHall(20);
    const page = await openSeatMap(show, undefined, {
      beforeScripts: () => {
        const real = Date.now;
        Date.now = () => real() + 11 * 60_000;
      },
      // The Date header Cloudflare's edge adds to every answer (wrangler dev sends none).
      watch: (page) =>
        void page.route(/\/api\//, async (route) => {
          const response = await route.fetch();
          await route.fulfill({ response, headers: { ...response.headers(), date: new Date().toUTCString() } });
        }),
    });
    await seat(page, "3").click();
    await page.getByRole("button", { name: "Hold selected seats" }).click();
    await expect.poll(() => message(page), UPDATE).toMatch(/^Held for you/);
    await expect.poll(async () => (await serverStatuses(show))[2], UPDATE).toBe("h");
    // The server keeps it ten minutes: the page still has it, and counts from about 10:00.
    expect(await lookOf(seat(page, "3"))).toBe("seat mine");
    expect(await page.locator("#your-hold").isVisible()).toBe(true);
    expect(await page.locator("#countdown").textContent()).toMatch(/^(10:00|9:5\d)$/);
    await page.context().close();
  });

  it("loads the show list again when it fails, with an error or with no answer at all", async () => {
    const show = await newHall(10);
    const page = await (await browser.newContext()).newPage();
    let asked = 0;
    await page.route(/\/api\/shows\?/, (route) => {
      asked++;
      if (asked === 1) return route.fulfill({ status: 503, json: { error: "Busy" } });
      if (asked === 2) return route.abort();
      return route.continue();
    });
    await page.goto(`${devServer().url}/?show=${encodeURIComponent(show)}`);
    await expect.poll(() => page.locator("#connection").textContent(), UPDATE).toBe("Live");
    expect(asked).toBe(3);
    expect(await page.locator("#show").inputValue()).toBe(show);
    await page.context().close();
  });

  it("releases its hold when the buyer turns to another show, or leaves the page", async () => {
    const [first, other] = await twoListedHalls();
    const page = await openSeatMap(first);
    const holdSeven = async () => {
      await seat(page, "7").click();
      await page.getByRole("button", { name: "Hold selected seats" }).click();
      await expect.poll(() => lookOf(seat(page, "7")), UPDATE).toBe("seat mine");
      await expect.poll(async () => (await serverStatuses(first))[6], UPDATE).toBe("h");
    };
    await holdSeven();
    await page.locator("#show").selectOption(other);
    await expect.poll(async () => (await serverStatuses(first))[6], UPDATE).toBe("a");
    await page.locator("#show").selectOption(first);
    await page.locator('#map[aria-busy="false"]').waitFor();
    // Kept in the back-forward cache: the page it comes back as has no hold either.
    await holdSeven();
    await page.evaluate(() => dispatchEvent(new PageTransitionEvent("pagehide", { persisted: true })));
    await expect.poll(async () => (await serverStatuses(first))[6], UPDATE).toBe("a");
    expect(await page.locator("#your-hold").isVisible()).toBe(false);
    await expect.poll(() => lookOf(seat(page, "7")), UPDATE).toBe("seat available");
    expect(await message(page)).toBe("Your hold was released when you left the page.");
    await holdSeven();
    await page.goto("about:blank");
    await expect.poll(async () => (await serverStatuses(first))[6], UPDATE).toBe("a");
    await page.context().close();
  });
});
