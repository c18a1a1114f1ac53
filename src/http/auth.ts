import { HttpError } from "./responses";

const BEARER = /^Bearer +(\S+) *$/i;

/**
 * Lets the request through only with `Authorization: Bearer <ADMIN_TOKEN>`.
 * The scheme name is matched case-insensitively (RFC 7235), the token exactly and
 * in constant time. With no token configured, every request is refused.
 */
export async function requireAdmin(request: Request, env: Env): Promise<void> {
  const expected = env.ADMIN_TOKEN;
  if (!expected) {
    throw unauthorized("Admin routes are disabled: no ADMIN_TOKEN is configured");
  }
  const presented = BEARER.exec(request.headers.get("authorization") ?? "")?.[1];
  if (presented === undefined) {
    throw unauthorized("Admin routes need an 'Authorization: Bearer <token>' header");
  }
  if (!(await tokensMatch(presented, expected))) {
    throw unauthorized("Admin token is not valid");
  }
}

/** Hashing first makes both sides the same length, so the comparison leaks neither content nor length. */
async function tokensMatch(presented: string, expected: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(presented)),
    crypto.subtle.digest("SHA-256", encoder.encode(expected)),
  ]);
  return crypto.subtle.timingSafeEqual(a, b);
}

function unauthorized(message: string): HttpError {
  return new HttpError(401, message, {}, { "www-authenticate": 'Bearer realm="admin"' });
}
