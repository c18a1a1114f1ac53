import type { IRequest } from "itty-router";
import { showOfRef } from "../ids";

/** One in this many 409s is logged: a sold-out rush answers thousands a second, each the same story. */
export const CONFLICT_SAMPLE_RATE = 100;

/**
 * Lines for 4xx answers an isolate writes at most, a second and in a burst: clients decide how many
 * 4xx answers there are (made-up paths, the 429s of a client past its rate limit), not how much is
 * logged. Past the budget, answers are counted by status, and the counts go out in one line a
 * second after the first of them was left out (with the next request then, whatever its answer:
 * see `writeUnlogged`). A 5xx is always logged.
 */
export const CLIENT_ERROR_LINES_PER_SECOND = 10;
export const CLIENT_ERROR_LINE_BURST = 50;
const budget = { lines: CLIENT_ERROR_LINE_BURST, at: 0, unlogged: new Map<number, number>(), since: 0 };

/** Whether a line for this answer is within the budget; counts it when it is not. */
function withinBudget(status: number, now: number): boolean {
  if (status >= 500) return true;
  budget.lines = Math.min(
    CLIENT_ERROR_LINE_BURST,
    budget.lines + (Math.max(0, now - budget.at) / 1000) * CLIENT_ERROR_LINES_PER_SECOND,
  );
  budget.at = now;
  if (budget.lines >= 1) {
    budget.lines--;
    return true;
  }
  if (budget.unlogged.size === 0) budget.since = now;
  budget.unlogged.set(status, (budget.unlogged.get(status) ?? 0) + 1);
  return false;
}

/**
 * Writes the count of the answers left out, once a second has passed since the first of them:
 * called for every request (the Worker's fetch handler does), so the count goes out with the next
 * request after that second whatever it is answered, and covers the whole second.
 */
export function writeUnlogged(now = Date.now()): void {
  if (budget.unlogged.size === 0 || now - budget.since < 1000) return;
  const statuses = Object.fromEntries([...budget.unlogged].sort(([a], [b]) => a - b));
  const count = [...budget.unlogged.values()].reduce((sum, n) => sum + n, 0);
  console.log(JSON.stringify({ type: "requests not logged", count, statuses }));
  budget.unlogged.clear();
}

/** Notes a misconfiguration in the log once per isolate, not once per request. */
const warned = new Set<string>();
export function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  console.warn(JSON.stringify({ message }));
}

/**
 * The Worker's own log line for a request, for the answers that need one: every 5xx, every 4xx
 * but 409, and a sample of 409s. Successes get none: the platform's invocation logs already carry
 * each request's method, URL, status and duration, and every state change is in the show's audit
 * log; and 4xx lines within a budget (see CLIENT_ERROR_LINES_PER_SECOND). The line holds the
 * method, route pattern, show, status and latency, and never a header, a query string, a body or
 * a path parameter other than the show: no token can reach the log.
 */
export function logRequest(
  request: IRequest,
  status: number,
  latencyMs: number,
  random = Math.random,
  now = Date.now(),
): void {
  if (status < 400) return;
  writeUnlogged(now);
  if (status === 409 && random() * CONFLICT_SAMPLE_RATE >= 1) return;
  if (!withinBudget(status, now)) return;
  const params = (request.params ?? {}) as Record<string, string | undefined>;
  const ref = params.hold_id ?? params.booking_id;
  const showId = (request.logShowId as string | undefined) ?? params.show_id ?? (ref ? showOfRef(ref) : null) ?? null;
  console.log(
    JSON.stringify({
      type: "request",
      method: request.method,
      route: request.route ?? "(no route)",
      show_id: showId === null ? null : showId.slice(0, 64),
      status,
      latency_ms: latencyMs,
      ...(status === 409 ? { sampled: `1 in ${CONFLICT_SAMPLE_RATE}` } : {}),
    }),
  );
}
