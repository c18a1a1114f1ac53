import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { IDEMPOTENCY_TTL_MS } from "../config";
import * as q from "./queries";
import type { Failure, IdempotencyKey } from "./types";

/**
 * HKDF-SHA-256's salt, and the labels of the two values it derives from an Idempotency-Key:
 * the id its answer is stored under, and the AES-256-GCM key that seals that answer. The edge
 * derives them with WebCrypto (`src/http/idempotency.ts`); the object only for its legacy rows.
 */
export const IDEMPOTENCY_HKDF = { salt: "seat-booking idempotency v1", lookup: "lookup", seal: "seal" } as const;

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The first answer to each Idempotency-Key that made a change, kept for 24 hours so that a retry gets it again.
 *
 * An answer can carry hold and booking tokens, so it is never stored in the clear: only the
 * HKDF-derived `lookup` names the row, and the answer is sealed with AES-256-GCM under a key
 * derived from the Idempotency-Key itself, which the object is handed per request and never
 * stores. The stored rows alone reveal neither the keys nor any token. Sealing uses node:crypto's
 * synchronous AES-GCM (the same algorithm as WebCrypto's, whose sealed answers it opens), so no
 * `await` ever stands between checking for an earlier answer and making the change.
 */
export class IdempotentAnswers {
  constructor(private readonly sql: SqlStorage) {}

  /**
   * Replays the answer stored for this key and request, refuses the key with another request,
   * or runs `run` and stores its answer when it made a change. A refusal changed nothing, so it is
   * not kept: its retry is answered afresh (and may succeed, once the seat is free), and requests
   * that fail cost the show no storage, whatever key they carry.
   */
  answer<R extends { ok: boolean }>(key: IdempotencyKey, now: number, run: () => R): R | Failure {
    const earlier = q.idempotentAnswer(this.sql, { lookup: key.lookup, after: now - IDEMPOTENCY_TTL_MS });
    if (earlier !== undefined) {
      if (earlier.fingerprint !== key.fingerprint) return { ok: false, reason: "idempotency_mismatch" };
      return JSON.parse(open(key, earlier.sealed)) as R;
    }
    const result = run();
    if (!result.ok) return result;
    const sealed = seal(key, JSON.stringify(result));
    q.storeIdempotentAnswer(this.sql, { lookup: key.lookup, fingerprint: key.fingerprint, sealed, at: now });
    return result;
  }

  /** Forgets answers older than 24 hours. */
  forgetExpired(now: number): void {
    q.forgetIdempotentAnswers(this.sql, { before: now - IDEMPOTENCY_TTL_MS });
  }

  /** When the oldest stored answer is due to be forgotten, or Infinity when none is stored. */
  nextExpiry(): number {
    const oldest = q.oldestIdempotentAnswer(this.sql);
    return oldest === null ? Infinity : oldest + IDEMPOTENCY_TTL_MS;
  }
}

/** The row and the request it answered are bound to the ciphertext, so a sealed answer cannot be moved. */
function associatedData(key: IdempotencyKey): Buffer {
  return Buffer.from(`${key.lookup}\n${key.fingerprint}`);
}

/** `iv || ciphertext || tag`, the layout WebCrypto's AES-GCM reads (iv apart). */
function seal(key: IdempotencyKey, plaintext: string): Uint8Array {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key.secret, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(key));
  return Buffer.concat([iv, cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
}

function open(key: IdempotencyKey, sealed: ArrayBuffer): string {
  const bytes = Buffer.from(sealed);
  const decipher = createDecipheriv("aes-256-gcm", key.secret, bytes.subarray(0, IV_BYTES), {
    authTagLength: TAG_BYTES,
  });
  decipher.setAAD(associatedData(key));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  return Buffer.concat([
    decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
    decipher.final(),
  ]).toString("utf8");
}

/** What the edge derives from an Idempotency-Key, derived here with node:crypto for rows stored before sealing. */
export function deriveIdempotencyKey(key: string, fingerprint: string): IdempotencyKey {
  const derive = (info: string) => Buffer.from(hkdfSync("sha256", key, IDEMPOTENCY_HKDF.salt, info, 32));
  return {
    lookup: derive(IDEMPOTENCY_HKDF.lookup).toString("hex"),
    secret: new Uint8Array(derive(IDEMPOTENCY_HKDF.seal)),
    fingerprint,
  };
}

/**
 * A data migration: answers stored before sealing (key and answer in the clear, in the old
 * `idempotency` table) are sealed into `idempotent_answers` under their own keys, so a retry
 * that was promised a replay still gets one, and then the clear rows are dropped.
 */
export function sealLegacyAnswers(sql: SqlStorage): void {
  const legacy = sql
    .exec<{ key: string; fingerprint: string; result: string; created_at: number }>(
      "SELECT key, fingerprint, result, created_at FROM idempotency",
    )
    .toArray();
  for (const row of legacy) {
    const key = deriveIdempotencyKey(row.key, row.fingerprint);
    const sealed = seal(key, row.result);
    q.storeIdempotentAnswer(sql, { lookup: key.lookup, fingerprint: row.fingerprint, sealed, at: row.created_at });
  }
}
