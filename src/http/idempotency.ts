import type { IRequest } from "itty-router";
import type { IdempotencyKey } from "../show/types";
import { HttpError } from "./responses";

/** Long enough that two clients do not pick the same key by chance: a UUID is 36 characters. */
const KEY_PATTERN = /^[\x21-\x7e]{16,255}$/;

/**
 * The request's `Idempotency-Key`, with a fingerprint of what was asked, or null when it sent
 * none. The fingerprint covers the route and the request's meaning after validation (ids made
 * canonical, defaults filled in), so `10` and `"10"`, key order or an ignored extra field do not
 * make two equal requests differ. The show's object replays the first answer to the same key
 * and fingerprint, and refuses the key with another.
 */
export async function idempotencyKey(
  request: IRequest,
  meaning: Record<string, unknown>,
): Promise<IdempotencyKey | null> {
  const key = request.headers.get("idempotency-key");
  if (key === null) return null;
  if (!KEY_PATTERN.test(key)) {
    throw new HttpError(400, "Idempotency-Key must be 16-255 visible ASCII characters; a random UUID is best", {
      field: "Idempotency-Key",
    });
  }
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(`${request.method} ${request.route}\n${stableJson(meaning)}`),
  );
  const fingerprint = [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return { key, fingerprint };
}

/** JSON with object keys sorted. Only validated values come here, so the nesting is shallow. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
