import type { IRequest } from "itty-router";
import { showOfRef } from "../ids";

/**
 * One structured line per request: method, route pattern, show, status and latency. Never
 * a header, a query string, a body or a path parameter other than the show: no token can
 * reach the log this way.
 */
export function logRequest(request: IRequest, status: number, latencyMs: number): void {
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
    }),
  );
}
