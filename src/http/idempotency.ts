import { IdempotencyKeyHeader } from "../contract/requests";
import { IDEMPOTENCY_HKDF } from "../show/idempotency";
import type { IdempotencyKey } from "../show/types";
import { hex } from "../sha256";
import { HttpError } from "./responses";

const encoder = new TextEncoder();

/**
 * The request's `Idempotency-Key`, or null when it sent none. What the show's object gets is
 * never the key itself but what HKDF-SHA-256 derives from it (WebCrypto): a `lookup` id for the
 * stored answer and a `secret` that seals it with AES-GCM, so the stored rows can be opened only
 * by someone who holds the key. The `fingerprint` covers the route and the request's meaning
 * after validation (ids made canonical, defaults filled in), so `10` and `"10"`, key order or
 * an ignored extra field do not make two equal requests differ. The object replays the first
 * answer that made a change to the same key and fingerprint, and then refuses the key with another.
 */
export async function idempotencyKey(
  request: Request,
  route: string,
  meaning: Record<string, unknown>,
): Promise<IdempotencyKey | null> {
  const header = request.headers.get("idempotency-key");
  if (header === null) return null;
  const parsed = IdempotencyKeyHeader.safeParse(header);
  if (!parsed.success) throw new HttpError(400, parsed.error.issues[0]!.message, { field: "Idempotency-Key" });

  const base = await crypto.subtle.importKey("raw", encoder.encode(parsed.data), "HKDF", false, ["deriveBits"]);
  const derive = (info: string) =>
    crypto.subtle.deriveBits(
      { name: "HKDF", hash: "SHA-256", salt: encoder.encode(IDEMPOTENCY_HKDF.salt), info: encoder.encode(info) },
      base,
      256,
    );
  const [lookup, secret, fingerprint] = await Promise.all([
    derive(IDEMPOTENCY_HKDF.lookup),
    derive(IDEMPOTENCY_HKDF.seal),
    crypto.subtle.digest("SHA-256", encoder.encode(`${route}\n${stableJson(meaning)}`)),
  ]);
  return { lookup: hex(lookup), secret: new Uint8Array(secret), fingerprint: hex(fingerprint) };
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
