/**
 * Fires N booking requests for one seat at the same moment and reports who won.
 *
 *   npm run concurrency -- [--url http://localhost:8787] [--n 5] [--show 1] [--seat 10]
 *                          [--mode book|hold] [--reset] [--token T]
 *
 * It opens N connections first, so the N requests leave together rather than
 * queueing behind connection set-up, then prints one line per request and
 * PASS (exactly one success, every other answer 409) or FAIL. Exit code 0 on PASS.
 * `--mode book` (the default) races `POST /api/book-seat/`; `--mode hold` races
 * `POST /api/shows/:show_id/holds` for the same seat.
 */
import { parseArgs } from "node:util";
import { DEV_ADMIN_TOKEN } from "./lib/dev-server.ts";
import { Client } from "./lib/http-client.ts";

/** Numeric ids go out as JSON numbers, like the old clients sent them. */
const asId = (value: string) => (/^[1-9][0-9]*$/.test(value) ? Number(value) : value);

const OPTIONS = {
  url: { type: "string", default: "http://localhost:8787" },
  n: { type: "string", default: "5" },
  show: { type: "string", default: "1" },
  seat: { type: "string", default: "10" },
  mode: { type: "string", default: "book" },
  reset: { type: "boolean", default: false },
  token: { type: "string", default: process.env.ADMIN_TOKEN ?? DEV_ADMIN_TOKEN },
  help: { type: "boolean", short: "h", default: false },
} as const;

const USAGE =
  "Usage: npm run concurrency -- [--url URL] [--n 5] [--show 1] [--seat 10] [--mode book|hold] [--reset] [--token ADMIN_TOKEN]";

/** Stops with a message and the usage, exit code 2: the command line was wrong. */
function usageError(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

const { values: args } = (() => {
  try {
    return parseArgs({ options: OPTIONS });
  } catch (error) {
    // An unknown or malformed flag: said in a line, not a stack trace.
    return usageError((error as Error).message);
  }
})();

if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

/** What each mode sends, and the status that means "this request got the seat". */
const MODES = {
  book: {
    path: () => "/api/book-seat/",
    body: (user: string) => ({ seat_id: asId(args.seat), show_id: asId(args.show), user_id: user }),
    success: 200,
  },
  hold: {
    path: () => `/api/shows/${encodeURIComponent(args.show)}/holds`,
    body: (user: string) => ({ seat_ids: [asId(args.seat)], user_id: user }),
    success: 201,
  },
} as const;
if (!(args.mode in MODES)) usageError("--mode must be book or hold");
const mode = MODES[args.mode as keyof typeof MODES];

const n = Number(args.n);
if (!Number.isInteger(n) || n < 1 || n > 10_000) usageError("--n must be a whole number from 1 to 10000");
const base = URL.canParse(args.url) ? new URL(args.url) : null;
if (base === null || !/^https?:$/.test(base.protocol)) {
  usageError(`--url must be an http:// or https:// URL, such as http://localhost:8787 (got ${args.url})`);
}
if (base.pathname !== "/" || base.search !== "") {
  usageError(`--url is the service's origin, with no path: ${base.origin} (got ${args.url})`);
}
const client = new Client(base.origin, n);

function messageOf(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown; error?: unknown; expires_at?: unknown };
    if (parsed.expires_at !== undefined) return `Seat held until ${String(parsed.expires_at)}`;
    return String(parsed.message ?? parsed.error ?? text);
  } catch {
    return text.slice(0, 120);
  }
}

const seatPath = `/admin/shows/${encodeURIComponent(args.show)}/seats/${encodeURIComponent(args.seat)}/booking`;
console.log(`Seat ${args.seat} of show ${args.show} at ${base.origin}: ${n} simultaneous ${args.mode} requests`);

if (args.reset) {
  const reset = await client.send("DELETE", seatPath, undefined, { authorization: `Bearer ${args.token}` });
  if (reset.status !== 200) {
    console.error(`Reset failed: ${reset.status || "no answer"} ${messageOf(reset.body)}`);
    process.exit(1);
  }
  console.log(`Reset: ${messageOf(reset.body)}`);
}

// Open every connection before the race, so that connection set-up does not stagger the requests.
try {
  await client.warm(n);
} catch (error) {
  console.error(`The server is not answering: ${(error as Error).message}`);
  process.exit(1);
}
console.log(`Opened ${n} connections; firing.`);

const bodies = Array.from({ length: n }, (_, i) => mode.body(`tester-${i + 1}`));
const outcomes = (await Promise.all(bodies.map((body) => client.send("POST", mode.path(), body)))).map((sample, i) => ({
  index: i + 1,
  status: sample.status === 0 ? null : sample.status,
  ms: sample.ms,
  message: sample.status === 0 ? `network error: ${sample.body}` : messageOf(sample.body),
}));
await client.close();

const width = String(n).length;
for (const { index, status, ms, message } of outcomes) {
  const mark = status === mode.success ? "✅" : "❌";
  console.log(
    `${mark} #${String(index).padStart(width)}  ${String(status ?? "---")}  ${ms.toFixed(1).padStart(8)} ms  ${message}`,
  );
}

const succeeded = outcomes.filter((o) => o.status === mode.success).length;
const conflicts = outcomes.filter((o) => o.status === 409).length;
const other = n - succeeded - conflicts;
const latencies = outcomes.map((o) => o.ms).sort((a, b) => a - b);
console.log("");
console.log(
  `Summary: ${succeeded} ${args.mode === "hold" ? "held" : "booked"} (${mode.success}), ${conflicts} conflicts (409), ${other} other`,
);
console.log(
  `Latency: min ${latencies[0]!.toFixed(1)} ms, median ${latencies[Math.floor(n / 2)]!.toFixed(1)} ms, max ${latencies[n - 1]!.toFixed(1)} ms`,
);
if (succeeded === 1 && conflicts === n - 1) {
  console.log(
    `PASS: exactly one request ${args.mode === "hold" ? "held" : "booked"} the seat; every other request got 409.`,
  );
  process.exit(0);
}
console.log(`FAIL: expected exactly one ${mode.success} and every other answer 409.`);
// Only when the seat was taken: a wrong show or seat (404), say, is its own answer above.
if (succeeded === 0 && conflicts === n && !args.reset)
  console.log("(Was the seat already booked? Run again with --reset.)");
process.exit(1);
