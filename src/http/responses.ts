/** JSON responses. Every error body is `{ "error": "<message>", ...context }`. */

/**
 * Every JSON answer's headers: no answer of the API may be stored by a cache on the way, and none
 * may be read by a browser as anything but JSON (an answer quotes a path or a name a client sent).
 */
export const JSON_HEADERS = {
  "content-type": "application/json",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
} as const;

export function json(body: unknown, status = 200, headers?: HeadersInit): Response {
  return jsonText(JSON.stringify(body), status, headers);
}

/**
 * A response whose body is JSON text already. Its headers are given whole when it is made: setting
 * one on a made response builds the response's Headers object, which costs a booking measurably.
 */
export function jsonText(body: string, status = 200, headers?: HeadersInit): Response {
  return new Response(body, {
    status,
    headers: headers === undefined ? JSON_HEADERS : { ...JSON_HEADERS, ...Object.fromEntries(new Headers(headers)) },
  });
}

/**
 * The header that tells a client the show's change number once its change was made, as the live
 * seat map numbers its updates (`version`): updates numbered up to it came before the change, or
 * are its own. None when the show did not say (an object of an earlier deploy).
 */
export function versionHeader(version: number | undefined): Record<string, string> | undefined {
  return version === undefined ? undefined : { "seat-map-version": String(version) };
}

/** An error a client caused or should know about; the router turns it into a JSON response. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly context: Record<string, unknown> = {},
    readonly headers?: HeadersInit,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export function errorResponse(error: HttpError): Response {
  return json({ error: error.message, ...error.context }, error.status, error.headers);
}
