import { HttpError } from "./responses";

const BEARER = /^Bearer +(\S+) *$/i;

/** Query parameters that look like a credential. URLs end up in logs and histories, so these are refused. */
const TOKEN_PARAMS = ["token", "access_token", "admin_token", "hold_token", "booking_token", "authorization", "key"];

function refuseTokenInUrl(request: Request): void {
  const params = new URL(request.url).searchParams;
  if (TOKEN_PARAMS.some((name) => params.has(name))) {
    throw unauthorized("Send tokens in the Authorization header, never in the URL");
  }
}

/** The token of an `Authorization: Bearer <token>` header. The scheme name is matched case-insensitively (RFC 7235). */
function bearerToken(request: Request): string | null {
  return BEARER.exec(request.headers.get("authorization") ?? "")?.[1] ?? null;
}

/**
 * Lets the request through only with `Authorization: Bearer <ADMIN_TOKEN>`, the token
 * compared exactly and in constant time. With no token configured, every request is refused.
 */
export async function requireAdmin(request: Request, env: Env): Promise<void> {
  refuseTokenInUrl(request);
  if (!env.ADMIN_TOKEN) {
    throw unauthorized("Admin routes are disabled: no ADMIN_TOKEN is configured");
  }
  const presented = bearerToken(request);
  if (presented === null) {
    throw unauthorized("Admin routes need an 'Authorization: Bearer <token>' header");
  }
  if (!(await isAdminToken(presented, env))) {
    throw unauthorized("Admin token is not valid");
  }
}

/** Whether `presented` is the configured admin token; false when none is configured. */
export async function isAdminToken(presented: string, env: Env): Promise<boolean> {
  if (!env.ADMIN_TOKEN) return false;
  // Hashing first makes both sides the same length, so the comparison leaks neither content nor length.
  const encoder = new TextEncoder();
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(presented)),
    crypto.subtle.digest("SHA-256", encoder.encode(env.ADMIN_TOKEN)),
  ]);
  return crypto.subtle.timingSafeEqual(a, b);
}

/** The bearer token a hold or booking route needs, or a 401 that says which one. */
export function requireBearer(request: Request, what: string): string {
  refuseTokenInUrl(request);
  const token = bearerToken(request);
  if (token === null) throw unauthorized(`This route needs an 'Authorization: Bearer <${what}>' header`);
  return token;
}

function unauthorized(message: string): HttpError {
  return new HttpError(401, message, {}, { "www-authenticate": "Bearer" });
}
