/**
 * `npm start`: runs the Worker with `wrangler dev` on port 8787 (or $PORT),
 * storage persisted under .wrangler/state, and makes sure the demo show exists.
 */
import { seedDemoShow, DEMO_SHOW, DEMO_VENUE } from "./lib/demo.ts";
import { DEV_ADMIN_TOKEN, startDevServer } from "./lib/dev-server.ts";

const port = Number(process.env.PORT ?? 8787);
const adminToken = process.env.ADMIN_TOKEN ?? DEV_ADMIN_TOKEN;

console.log(`Starting wrangler dev on port ${port}...`);
const server = await startDevServer({ port, adminToken, inheritOutput: true }).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
try {
  await seedDemoShow(server.url, adminToken);
} catch (error) {
  // Not left running half set up (with an ADMIN_TOKEN too short, say: the message says so): the
  // server goes down with the message.
  console.error(error instanceof Error ? error.message : String(error));
  await server.stop();
  process.exit(1);
}
console.log(`
Seat booking is running at http://localhost:${port}
  Seat map page: http://localhost:${port}/
  Demo show ${DEMO_SHOW.id}: ${DEMO_SHOW.seats} seats
  Demo venue, show ${DEMO_VENUE.id}: a theatre of about 1,000 seats (stalls, circle, boxes), from ${DEMO_VENUE.plan}
  Try:   curl -X POST localhost:${port}/api/book-seat/ -H 'content-type: application/json' -d '{"seat_id":10,"show_id":1}'
  Admin token (local only): ${adminToken === DEV_ADMIN_TOKEN ? DEV_ADMIN_TOKEN : "from $ADMIN_TOKEN"}
  Rate limiting is off locally; the API is described at http://localhost:${port}/openapi.json
Press Ctrl+C to stop.`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => void server.stop(signal).then(() => process.exit(0)));
}
server.child.once("exit", (code) => process.exit(code ?? 1));
