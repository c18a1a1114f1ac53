/**
 * The seat map page in real headless Chromium (Debian's package, driven by
 * playwright-core; no browser is ever downloaded), against a real `wrangler dev`.
 * Saves a screenshot to artifacts/seat-map.png.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT, type DevServer } from "../../scripts/lib/dev-server.ts";
import { useDevServer } from "./dev-server.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const TOKEN = "browser-test-token";
let devServer: () => DevServer;
export const SCREENSHOT = join(PROJECT_ROOT, "artifacts", "seat-map.png");

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  if (process.env.CI) throw new Error(`CI must run the browser test, but there is no Chromium at ${CHROMIUM}`);
  console.warn(`Skipping the browser test: no Chromium at ${CHROMIUM} (apt-get install chromium).`);
}

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

async function openSeatMap(viewport = { width: 1000, height: 900 }, show = "1", firstSeat = "1"): Promise<Page> {
  const page = await (await browser.newContext({ viewport })).newPage();
  await page.goto(`${devServer().url}/?show=${show}`);
  await expect.poll(() => page.locator("#connection").textContent()).toBe("Live");
  await page.getByRole("button", { name: `Seat ${firstSeat}, available` }).waitFor();
  // A marker that a reload would wipe: updates must arrive without one.
  await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
  return page;
}

const seat = (page: Page, id: number | string) => page.locator(`[data-seat="${id}"]`);
const labelOf = (page: Page, id: number | string) => seat(page, id).getAttribute("aria-label");

describe.skipIf(!haveChromium)("the seat map page", () => {
  devServer = useDevServer(TOKEN);
  beforeAll(launchChromium);
  afterAll(() => browser?.close());

  it("two pages watch one show: a booking on one turns the seat booked on the other, live", async () => {
    const buyer = await openSeatMap();
    const watcher = await openSeatMap();

    await buyer.getByLabel("Your name").fill("alice");
    await seat(buyer, 5).click();
    expect(await labelOf(buyer, 5)).toBe("Seat 5, selected");
    await buyer.getByRole("button", { name: "Book selected seats now" }).click();
    await expect.poll(() => buyer.locator("#message").textContent()).toBe("Booked: 5. Enjoy the show!");
    expect(await labelOf(buyer, 5)).toBe("Seat 5, booked by you");

    await expect.poll(() => labelOf(watcher, 5)).toBe("Seat 5, booked");
    expect(await watcher.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);

    // A hold shows a countdown to its holder, and "held" to everyone else.
    await watcher.getByLabel("Your name").fill("bob");
    await seat(watcher, 6).click();
    await seat(watcher, 7).click();
    await watcher.getByRole("button", { name: "Hold selected seats" }).click();
    await expect.poll(() => watcher.locator("#countdown").textContent()).toMatch(/^(10:00|9:[0-5]\d)$/);
    expect(await labelOf(watcher, 6)).toBe("Seat 6, held by you");
    await expect.poll(() => labelOf(buyer, 7)).toBe("Seat 7, held");

    // A seat someone else takes while you have it selected: a clear message, no reload.
    await seat(buyer, 8).click();
    await watcher.evaluate(() =>
      fetch("/api/book-seat/", { method: "POST", body: JSON.stringify({ show_id: 1, seat_id: 8 }) }),
    );
    await expect.poll(() => buyer.locator("#message").textContent()).toBe("Seat 8 was just taken by someone else.");
    expect(await labelOf(buyer, 8)).toBe("Seat 8, booked");

    // Clicking a taken seat explains itself rather than doing nothing. (It is aria-disabled, which
    // Playwright will not click by default, though a person can.)
    await seat(buyer, 8).click({ force: true });
    await expect.poll(() => buyer.locator("#message").textContent()).toBe("Seat 8 is booked.");

    // Every status on one screen: the buyer's picture is the one the README shows.
    const block = await fetch(`${devServer().url}/admin/shows/1/seats/block`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ seat_ids: [95, 96, 97, 98, 99, 100], reason: "sound desk" }),
    });
    expect(block.status).toBe(200);
    await expect.poll(() => labelOf(buyer, 100)).toBe("Seat 100, blocked");
    await seat(buyer, 23).click();
    await seat(buyer, 24).click();
    await expect.poll(() => buyer.locator("#show option:checked").textContent()).toBe("Demo show (90 of 100 free)");
    await mkdir(join(PROJECT_ROOT, "artifacts"), { recursive: true });
    await buyer.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);

    // The holder books the held seats.
    await watcher.getByRole("button", { name: "Book held seats" }).click();
    await expect.poll(() => watcher.locator("#message").textContent()).toBe("Booked: 6, 7. Enjoy the show!");
    await expect.poll(() => labelOf(buyer, 6)).toBe("Seat 6, booked");
  });

  it("books a seat whose id is 20 digits, which no JSON number can carry", async () => {
    const longId = "99999999999999999999";
    const show = `long-ids-${Date.now()}`;
    const created = await fetch(`${devServer().url}/admin/shows/${show}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ name: "Long ids", seats: [longId, "12345678901234567"] }),
    });
    expect(created.status).toBe(201);
    const page = await openSeatMap(undefined, show, longId);
    await page.getByLabel("Your name").fill("dana");
    await seat(page, longId).click();
    await page.getByRole("button", { name: "Book selected seats now" }).click();
    await expect.poll(() => page.locator("#message").textContent()).toBe(`Booked: ${longId}. Enjoy the show!`);
    expect(await labelOf(page, longId)).toBe(`Seat ${longId}, booked by you`);
    const map = (await (await fetch(`${devServer().url}/api/shows/${show}/seats`)).json()) as {
      seats: { seat_id: number | string; status: string }[];
    };
    expect(map.seats).toEqual([
      { seat_id: longId, status: "booked" },
      { seat_id: "12345678901234567", status: "available" },
    ]);
  });

  it("seats are buttons a keyboard can reach and press", async () => {
    const page = await openSeatMap();
    await seat(page, 20).focus();
    await page.keyboard.press("Enter");
    expect(await labelOf(page, 20)).toBe("Seat 20, selected");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.getAttribute("data-seat"))).toBe("21");
    await page.keyboard.press("Space");
    expect(await page.locator("#selection").textContent()).toBe("Selected: 20, 21");
  });

  it("fits a phone's width", async () => {
    const page = await openSeatMap({ width: 375, height: 740 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await expect.poll(() => labelOf(page, 5)).toBe("Seat 5, booked");
  });
});
