/** JSON responses. Every error body is `{ "error": "<message>", ...context }`. */

export function json(body: unknown, status = 200, headers?: HeadersInit): Response {
  const response = Response.json(body, { status, headers });
  response.headers.set("cache-control", "no-store");
  return response;
}

/** A response whose body is JSON text already. */
export function jsonText(body: string, status = 200): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
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
