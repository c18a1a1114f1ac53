/** The demo show `npm start` serves: show 1, seats 1..100, as the old system's examples expect. */
export const DEMO_SHOW = { id: 1, name: "Demo show", seats: 100 } as const;

/** Creates the demo show, or leaves it as it is (PUT is idempotent and keeps bookings). */
export async function seedDemoShow(url: string, adminToken: string): Promise<void> {
  const response = await fetch(`${url}/admin/shows/${DEMO_SHOW.id}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ name: DEMO_SHOW.name, seats: DEMO_SHOW.seats }),
  });
  if (!response.ok) {
    throw new Error(`could not create the demo show: ${response.status} ${await response.text()}`);
  }
}
