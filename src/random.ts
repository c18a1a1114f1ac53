/**
 * Random strings the objects mint: hold and booking ids, tokens, queue tickets. Apart from ids.ts
 * because they use the runtime's Node APIs (nodejs_compat), which the browser code's types lack.
 */
import { Buffer } from "node:buffer";
import type { Id } from "./ids";

/**
 * Hold and booking ids carry their show's id (`<show_id>.<22 random characters>`), so a
 * route such as `POST /api/holds/:hold_id/confirm` can find the show's object from the id alone
 * (`showOfRef` in ids.ts reads it back).
 */
export function newRef(showId: Id): string {
  return `${showId}.${randomBase64Url(16)}`;
}

/** `bytes` random bytes as unpadded base64url. */
export function randomBase64Url(bytes: number): string {
  return base64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/**
 * Bytes as unpadded base64url (a booking makes two of these: its id and its token). The runtime's
 * own encoder (nodejs_compat), not `btoa` over a string with three replacements after it.
 */
export function base64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}
