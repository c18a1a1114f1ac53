import { positiveInteger } from "../config";
import { clientKey } from "./client";
import { warnOnce } from "./log";
import { HttpError } from "./responses";

const BEARER = /^Bearer +(\S+) *$/i;

/** How every booking token begins (`newToken("bt")` in the show makes them). */
export const BOOKING_TOKEN_PREFIX = "bt_";

/** Query parameters that look like a credential. URLs end up in logs and histories, so these are refused. */
const TOKEN_PARAMS = [
  "token",
  "access_token",
  "admin_token",
  "hold_token",
  "booking_token",
  "ticket_token",
  "admission_pass",
  "authorization",
  "key",
];

/**
 * Refuses a request that names a credential in its query string, whatever the case of the name,
 * on every route (the router asks first): a token in a URL has leaked into logs whether or not the
 * route needs one, and the client must hear of it.
 */
export function refuseTokenInUrl(request: Request): void {
  // Most requests have no query string, and a booking should not pay to parse its URL.
  if (!request.url.includes("?")) return;
  const names = [...new URL(request.url).searchParams.keys()].map((name) => name.toLowerCase());
  if (names.some((name) => TOKEN_PARAMS.includes(name))) {
    throw unauthorized("Send tokens in the Authorization header, never in the URL");
  }
}

/**
 * Refuses a change (or a live socket) that a page of another site asks for in its visitor's
 * browser. Such a page may send a "simple" request (a form, or a `no-cors` fetch with a text/plain
 * body) without the browser asking this service first; it cannot read the answer, but the change
 * is made, from the visitor's address, so every visitor would lend it their per-address budgets.
 * Browsers say where a request comes from: `Sec-Fetch-Site`, or on older ones only `Origin`.
 * Clients that are not browsers (scripts, Postman, servers) send neither, and pass as before.
 */
export function refuseOtherSites(request: Request): void {
  const site = request.headers.get("sec-fetch-site");
  const origin = site === null ? request.headers.get("origin") : null;
  const foreign = site !== null ? site === "cross-site" : origin !== null && origin !== new URL(request.url).origin;
  if (foreign) {
    throw new HttpError(
      403,
      "A page of another site may not change anything here: call the API from your own server, or use this site's page",
    );
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
  const client = env.RATE_LIMITING === "off" ? null : clientKey(request);
  refuseWhileThrottled(client, env);
  if (!env.ADMIN_TOKEN) {
    throw unauthorized("Admin routes are disabled: no ADMIN_TOKEN is configured");
  }
  // A token short enough to guess is no token: the service fails closed rather than serve one.
  if (env.ADMIN_TOKEN.length < MIN_ADMIN_TOKEN_LENGTH) {
    warnOnce(`ADMIN_TOKEN is shorter than ${MIN_ADMIN_TOKEN_LENGTH} characters: admin routes are disabled`);
    throw unauthorized("Admin routes are disabled: the configured ADMIN_TOKEN is too short");
  }
  // A space or a character outside visible ASCII cannot be sent in a Bearer header: no request
  // could ever match it, and without this each try would count as a wrong token, silently.
  if (!/^[\x21-\x7e]+$/.test(env.ADMIN_TOKEN)) {
    warnOnce(
      "ADMIN_TOKEN has a space or a character outside visible ASCII, which no header can carry: admin routes are disabled",
    );
    throw unauthorized("Admin routes are disabled: the configured ADMIN_TOKEN cannot be sent in a header");
  }
  const presented = bearerToken(request);
  if (presented === null) {
    throw unauthorized("Admin routes need an 'Authorization: Bearer <token>' header");
  }
  // One client's tokens are checked one at a time, each wrong one counted before the next is
  // compared: a burst of guesses sent at once is not compared in full before the limiter says no.
  await oneAtATime(client, env, async () => {
    if (await isAdminToken(presented, env)) return;
    await countFailedAdminAttempt(client, env);
    throw unauthorized("Admin token is not valid");
  });
}

/** The shortest ADMIN_TOKEN the service accepts (`openssl rand -base64 32` gives 44 characters). */
export const MIN_ADMIN_TOKEN_LENGTH = 12;

/** Clients this isolate refuses every admin request from, until the time given (ms); the oldest go first. */
const throttled = new Map<string, number>();
const MAX_THROTTLED = 10_000;

/** Each client's admin token check under way: when it started, and a promise that settles when it ends. */
const checking = new Map<string, { startedAt: number; done: Promise<void> }>();
/**
 * How long a check may hold its client's line: a check belongs to its request, and may never end
 * if that request is cancelled. Far longer than a check takes (a hash and, when wrong, the limiter).
 */
const CHECK_WAIT_MS = 2000;
const MAX_CHECKING = 10_000;

/**
 * Runs one client's admin token checks one at a time in this isolate. A check waits on the one under
 * way (awaiting the promise that check made) or until that check's own bound has passed, and then
 * takes the line at once, before it awaits anything: so when a check hangs, the checks waiting on
 * it go on one at a time, not all together when their waits run out. Each time a waiting check
 * wakes, it is refused if its client has been throttled meanwhile: a burst is answered 429 as soon
 * as the limiter says no, without the rest of it taking the line in turn.
 */
async function oneAtATime(client: string | null, env: Env, check: () => Promise<void>): Promise<void> {
  if (client === null) return check();
  for (;;) {
    refuseWhileThrottled(client, env);
    const current = checking.get(client);
    const left = current === undefined ? 0 : current.startedAt + CHECK_WAIT_MS - Date.now();
    if (left <= 0) break;
    let bound: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([current!.done, new Promise((resolve) => (bound = setTimeout(resolve, left)))]);
    clearTimeout(bound);
  }
  let finish!: () => void;
  const mine = { startedAt: Date.now(), done: new Promise<void>((resolve) => (finish = resolve)) };
  checking.delete(client);
  if (checking.size >= MAX_CHECKING) checking.delete(checking.keys().next().value!);
  checking.set(client, mine);
  try {
    await check();
  } finally {
    finish();
    if (checking.get(client) === mine) checking.delete(client);
  }
}

function throttledFor(env: Env): number {
  return positiveInteger(env.ADMIN_THROTTLE_SECONDS, 60, 24 * 60 * 60);
}

/**
 * Wrong admin tokens are counted per client by the ADMIN_AUTH_LIMITER binding (a handful a
 * minute). Past that, the client gets 429 for every admin request, with the right token or not,
 * until the period is over: so throttling slows guessing down rather than only hiding results.
 */
async function countFailedAdminAttempt(client: string | null, env: Env): Promise<void> {
  if (client === null) return warnOnce("RATE_LIMITING is off, so wrong admin tokens are not throttled");
  if (!env.ADMIN_AUTH_LIMITER) return warnOnce("ADMIN_AUTH_LIMITER is not bound: wrong admin tokens are not throttled");
  const { success } = await env.ADMIN_AUTH_LIMITER.limit({ key: client });
  if (success) return;
  throttled.delete(client);
  if (throttled.size >= MAX_THROTTLED) throttled.delete(throttled.keys().next().value!);
  throttled.set(client, Date.now() + throttledFor(env) * 1000);
  throw tooManyAttempts(env);
}

function refuseWhileThrottled(client: string | null, env: Env): void {
  if (client === null) return;
  const until = throttled.get(client);
  if (until === undefined) return;
  if (Date.now() < until) throw tooManyAttempts(env);
  throttled.delete(client);
}

function tooManyAttempts(env: Env): HttpError {
  return new HttpError(
    429,
    "Too many wrong admin tokens from this address; wait and retry",
    {},
    { "retry-after": String(throttledFor(env)) },
  );
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
  const token = bearerToken(request);
  if (token === null) throw unauthorized(`This route needs an 'Authorization: Bearer <${what}>' header`);
  return token;
}

/**
 * The longest hold, booking or ticket token the service could have given out: they are 46
 * characters (a prefix and 256 random bits), and the object that checks one hashes it on the thread
 * that sells, so a longer one is refused here instead of hashed there.
 */
export const MAX_TOKEN_LENGTH = 64;

/** A hold, booking or ticket token (`what`) as the route's bearer; longer than any the service gives out, 401. */
export function requireToken(request: Request, what: string): string {
  return refuseLongToken(requireBearer(request, what), what);
}

export function refuseLongToken(token: string, what: string): string {
  if (token.length > MAX_TOKEN_LENGTH) {
    throw unauthorized(`This is not a ${what}: they are at most ${MAX_TOKEN_LENGTH} characters`);
  }
  return token;
}

function unauthorized(message: string): HttpError {
  return new HttpError(401, message, {}, { "www-authenticate": "Bearer" });
}
