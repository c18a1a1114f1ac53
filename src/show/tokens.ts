import { timingSafeEqual } from "node:crypto";
import { randomBase64Url } from "../random";
import { sha256Hex } from "../sha256";

/**
 * Hold and booking tokens: 256 random bits, handed to the client in the answer that made them
 * (and again only in a replay of that answer, which is stored sealed under its Idempotency-Key;
 * see `idempotency.ts`). Only their SHA-256 is stored. Hashing is synchronous (see sha256.ts), so
 * checking a token never puts an `await` inside the object's check-then-write sequences.
 */
export function newToken(prefix: "ht" | "bt" | "qt"): { token: string; hash: string } {
  const token = `${prefix}_${randomBase64Url(32)}`;
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return sha256Hex(token);
}

/** Constant-time comparison of a presented token with a stored hash. */
export function tokenMatches(presented: string, storedHash: string | null): boolean {
  if (storedHash === null) return false;
  const a = Buffer.from(hashToken(presented), "hex");
  const b = Buffer.from(storedHash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}
