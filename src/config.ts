/**
 * Settings read from the Worker's environment (`[vars]` in wrangler.toml).
 * Every value has a default, so a missing var never breaks a deploy.
 */
export interface HoldPolicy {
  /** Seconds a hold lasts when the client names no `ttl_seconds`. */
  defaultTtl: number;
  minTtl: number;
  maxTtl: number;
  /** A hold can be extended, but never past this many seconds after it was made. */
  maxLifetime: number;
}

export const HOLD_POLICY_DEFAULTS: HoldPolicy = { defaultTtl: 600, minTtl: 30, maxTtl: 1800, maxLifetime: 3600 };

/** How long an Idempotency-Key's first answer is replayed. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** The most seats one hold or group booking may name. */
export const MAX_SEATS_PER_REQUEST = 100;

type HoldVars = Partial<
  Record<
    "HOLD_TTL_DEFAULT_SECONDS" | "HOLD_TTL_MIN_SECONDS" | "HOLD_TTL_MAX_SECONDS" | "HOLD_MAX_LIFETIME_SECONDS",
    string
  >
>;

/**
 * A var that must be a positive whole number, written in decimal digits; a missing or malformed
 * one ("1e3", "0x10", "ten", "") gives `fallback`, and one over `most` gives `most`, so that no
 * setting can reach values the code was never meant for (a hold for 300,000 years).
 */
export function positiveInteger(text: string | undefined, fallback: number, most = Number.MAX_SAFE_INTEGER): number {
  const value = wholeNumber(text);
  return value === null || value === 0 ? fallback : Math.min(value, most);
}

/** As `positiveInteger`, but 0 is a value too (a setting that 0 turns off). */
export function wholeNumberOr(text: string | undefined, fallback: number, most = Number.MAX_SAFE_INTEGER): number {
  const value = wholeNumber(text);
  return value === null ? fallback : Math.min(value, most);
}

function wholeNumber(text: string | undefined): number | null {
  if (text === undefined || !/^\s*\d+\s*$/.test(text)) return null;
  // Digits past what a number holds exactly are past every setting's most.
  const digits = text.trim().replace(/^0+(?=\d)/, "");
  return digits.length > 15 ? Number.MAX_SAFE_INTEGER : Number(digits);
}

/** The most any hold setting may be: 30 days (a box office's group hold, at the longest). */
export const MOST_HOLD_SECONDS = 30 * 24 * 60 * 60;

/**
 * How many orders' worth of a show's seats one client address may hold at once
 * (HELD_ORDERS_PER_ADDRESS): a positive whole number, 4 when missing or malformed, or null for
 * "off" (a box office whose holds all come from one address, say).
 */
export function heldOrdersPerAddress(env: { HELD_ORDERS_PER_ADDRESS?: string }): number | null {
  return positiveIntegerOrOff(env.HELD_ORDERS_PER_ADDRESS, 4);
}

/**
 * How many waiting tickets one client address may have in a show's queue at once
 * (QUEUE_TICKETS_PER_ADDRESS): a positive whole number, 16 when missing or malformed, or null for
 * "off".
 */
export function queueTicketsPerAddress(env: { QUEUE_TICKETS_PER_ADDRESS?: string }): number | null {
  return positiveIntegerOrOff(env.QUEUE_TICKETS_PER_ADDRESS, 16);
}

/** A limit's var: null for "off" (in any case), else as `positiveInteger`. */
function positiveIntegerOrOff(text: string | undefined, fallback: number): number | null {
  return text?.trim().toLowerCase() === "off" ? null : positiveInteger(text, fallback);
}

/** Bytes of a show's database past which new holds and cancellations by token are refused (SHOW_STORAGE_HIGH_WATER_MB; 8,192 MB). */
export function storageHighWaterBytes(env: { SHOW_STORAGE_HIGH_WATER_MB?: string }): number {
  // A mark at or past the 10 GB an object holds would never be reached before the object is full:
  // at most 9,500 MiB (9.96e9 bytes, below 10 GB however it is counted).
  return positiveInteger(env.SHOW_STORAGE_HIGH_WATER_MB, 8192, 9_500) * 1024 * 1024;
}

/** The hold policy from the environment; a missing or malformed value falls back to its default. */
export function holdPolicy(env: HoldVars): HoldPolicy {
  const read = (name: keyof HoldVars, fallback: number) => positiveInteger(env[name], fallback, MOST_HOLD_SECONDS);
  const minTtl = read("HOLD_TTL_MIN_SECONDS", HOLD_POLICY_DEFAULTS.minTtl);
  const maxTtl = Math.max(minTtl, read("HOLD_TTL_MAX_SECONDS", HOLD_POLICY_DEFAULTS.maxTtl));
  const defaultTtl = Math.min(
    maxTtl,
    Math.max(minTtl, read("HOLD_TTL_DEFAULT_SECONDS", HOLD_POLICY_DEFAULTS.defaultTtl)),
  );
  const maxLifetime = Math.max(maxTtl, read("HOLD_MAX_LIFETIME_SECONDS", HOLD_POLICY_DEFAULTS.maxLifetime));
  return { defaultTtl, minTtl, maxTtl, maxLifetime };
}
