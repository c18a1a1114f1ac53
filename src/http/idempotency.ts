import type { IdempotencyKey } from "../show/types";
import { HttpError } from "./responses";

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * The request's `Idempotency-Key`, with a fingerprint of what was asked (method, path
 * and body, keys sorted), or null when it sent none. The show's object replays the
 * first answer to the same key and fingerprint, and refuses the key with another one.
 */
export async function idempotencyKey(request: Request, body: unknown = null): Promise<IdempotencyKey | null> {
  const key = request.headers.get("idempotency-key");
  if (key === null) return null;
  if (!KEY_PATTERN.test(key)) {
    throw new HttpError(400, "Idempotency-Key must be 1-255 visible ASCII characters", { field: "Idempotency-Key" });
  }
  const path = new URL(request.url).pathname.replace(/\/+$/, "");
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(`${request.method} ${path}\n${stableJson(body)}`),
  );
  const fingerprint = [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return { key, fingerprint };
}

/** JSON with object keys sorted, so that key order does not make two equal bodies differ. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
