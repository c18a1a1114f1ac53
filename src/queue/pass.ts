import type { Id } from "../ids";
import { base64Url } from "../random";

/**
 * Admission passes: what a buyer who has waited their turn in a show's waiting room shows with
 * each hold and booking. A pass is `ap1.<claims>.<mac>`: the claims (show, ticket, expiry) as
 * base64url JSON, and an HMAC-SHA-256 of `ap1.<claims>` under QUEUE_SECRET, base64url. The Worker
 * checks one with the secret alone, without calling any object; nobody without the secret can
 * make or alter one.
 */
export interface PassClaims {
  /** The show the pass is for; it admits to no other. */
  show: Id;
  /** The queue ticket it was issued to: holds and bookings made with it count against it. */
  ticket: string;
  /** When it stops admitting, ms since the epoch. */
  exp: number;
  /** When the room that issued it was turned on: it admits to no later time the room is on. */
  room: number;
}

const PREFIX = "ap1";
/** The shortest QUEUE_SECRET accepted: 32 characters, 256 bits or so of a random secret. */
export const MIN_SECRET_LENGTH = 32;
/** Longer passes are refused unread. */
export const MAX_PASS_LENGTH = 512;

const keys = new Map<string, Promise<CryptoKey>>();

/** The HMAC key for a secret, imported once per isolate. */
function keyFor(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (key === undefined) {
    const raw = new TextEncoder().encode(secret);
    key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    if (keys.size > 4) keys.clear();
    keys.set(secret, key);
  }
  return key;
}

export async function signPass(secret: string, claims: PassClaims): Promise<string> {
  const body = `${PREFIX}.${base64Url(new TextEncoder().encode(JSON.stringify(claims)))}`;
  const mac = await crypto.subtle.sign("HMAC", await keyFor(secret), new TextEncoder().encode(body));
  return `${body}.${base64Url(new Uint8Array(mac))}`;
}

export type PassCheck =
  | { ok: true; claims: PassClaims }
  | { ok: false; reason: "missing" | "forged" | "expired" | "other_show" | "other_room" };

/** Checks a pass for a show's room (turned on at `room`) at `now`: its MAC first (in constant time), then what it claims. */
export async function checkPass(
  secret: string,
  pass: string | null,
  { showId, room, now }: { showId: Id; room: number; now: number },
): Promise<PassCheck> {
  if (pass === null || pass === "") return { ok: false, reason: "missing" };
  const parts = pass.length <= MAX_PASS_LENGTH ? pass.split(".") : [];
  if (parts.length !== 3 || parts[0] !== PREFIX) return { ok: false, reason: "forged" };
  const mac = fromBase64Url(parts[2]!);
  const signed = new TextEncoder().encode(`${parts[0]}.${parts[1]}`);
  if (mac === null || !(await crypto.subtle.verify("HMAC", await keyFor(secret), mac, signed))) {
    return { ok: false, reason: "forged" };
  }
  const claims = JSON.parse(new TextDecoder().decode(fromBase64Url(parts[1]!)!)) as PassClaims;
  if (claims.show !== showId) return { ok: false, reason: "other_show" };
  if (claims.room !== room) return { ok: false, reason: "other_room" };
  if (claims.exp <= now) return { ok: false, reason: "expired" };
  return { ok: true, claims };
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    return Uint8Array.from(binary, (char) => char.charCodeAt(0));
  } catch {
    return null;
  }
}
