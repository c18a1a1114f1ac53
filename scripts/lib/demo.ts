import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { PROJECT_ROOT } from "./dev-server.ts";

/** The demo show `npm start` serves: show 1, seats 1..100, as the old system's examples expect. */
export const DEMO_SHOW = { id: 1, name: "Demo show", seats: 100 } as const;

/** The demo venue: show 2, from the theatre plan the project ships (scripts/venues/theatre.json). */
export const DEMO_VENUE = { id: 2, name: "Demo theatre", plan: "scripts/venues/theatre.json" } as const;

/**
 * Creates the demo show and the demo venue, or leaves them as they are (PUT is idempotent and
 * keeps bookings).
 */
export async function seedDemoShow(url: string, adminToken: string): Promise<void> {
  const plan = JSON.parse(await readFile(join(PROJECT_ROOT, DEMO_VENUE.plan), "utf8")) as unknown;
  await put(url, adminToken, DEMO_SHOW.id, { name: DEMO_SHOW.name, seats: DEMO_SHOW.seats });
  await put(url, adminToken, DEMO_VENUE.id, { name: DEMO_VENUE.name, plan, max_seats_per_order: 10 });
}

async function put(url: string, adminToken: string, showId: number, body: unknown): Promise<void> {
  const response = await fetch(`${url}/admin/shows/${showId}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    throw new Error(`could not create demo show ${showId}: ${response.status} ${await response.text()}`);
  }
}
