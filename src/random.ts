/** Random strings the objects mint: hold and booking ids, tokens, queue tickets. */
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

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * Bytes as unpadded base64url (a booking makes two of these: its id and its token). Written out
 * here: in the Workers runtime, Buffer's encoder (nodejs_compat) costs several times more per call
 * on a booking's path, and \`btoa\` needs a binary string and three replacements after it.
 */
export function base64Url(bytes: Uint8Array): string {
  let text = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const group = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    text +=
      BASE64URL[group >> 18]! + BASE64URL[(group >> 12) & 63]! + BASE64URL[(group >> 6) & 63]! + BASE64URL[group & 63]!;
  }
  // One or two bytes left: two or three characters, with no padding.
  if (i < bytes.length) {
    const group = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8);
    text += BASE64URL[group >> 18]! + BASE64URL[(group >> 12) & 63]!;
    if (i + 1 < bytes.length) text += BASE64URL[(group >> 6) & 63]!;
  }
  return text;
}
