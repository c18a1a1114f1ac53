import type { IRequest } from "itty-router";
import { showOfRef } from "../ids";

/** One in this many 409s is logged: a sold-out rush answers thousands a second, each the same story. */
export const CONFLICT_SAMPLE_RATE = 100;

/**
 * The Worker's own log line for a request, for the answers that need one: every 5xx, every 4xx
 * but 409, and a sample of 409s. Successes get none: the platform's invocation logs already carry
 * each request's method, URL, status and duration, and every state change is in the show's audit
 * log. The line holds the method, route pattern, show, status and latency, and never a header, a
 * query string, a body or a path parameter other than the show: no token can reach the log.
 */
export function logRequest(request: IRequest, status: number, latencyMs: number, random = Math.random): void {
  if (status < 400) return;
  if (status === 409 && random() * CONFLICT_SAMPLE_RATE >= 1) return;
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
