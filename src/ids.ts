/**
 * Show, seat and user ids.
 *
 * Clients may send an id as a positive integer (`10`) or as a string of 1-64
 * characters from `[A-Za-z0-9_-]` (`"A10"`). Inside the system every id is one
 * canonical string, so `10` and `"10"` name the same seat. On the way out, an id
 * that is a plain decimal integer is written back as a JSON number, which keeps
 * the old clients' `{"seat_id": 10}` round-tripping unchanged.
 */

import { ID_PATTERN, PLAIN_INTEGER, REF_PATTERN } from "../public/ids.js";

export { ID_PATTERN, PLAIN_INTEGER, REF_PATTERN };

/** How the id rule reads in error messages and in the OpenAPI document. */
export const ID_RULE = "a positive integer, or a string of 1-64 characters from A-Z, a-z, 0-9, '_' and '-'";

/** An id as it travels between the edge and the objects: always a string. */
export type Id = string;

/** An id as it is written in a response: a number where it is a plain integer. */
export type PublicId = number | string;

/** Canonical form of a validated id; the schemas call it after checking the shape. */
export function canonicalId(value: number | string): Id {
  return typeof value === "number" ? String(value) : value;
}

/** The form an id takes in a response body. */
export function publicId(id: Id): PublicId {
  if (PLAIN_INTEGER.test(id)) {
    const asNumber = Number(id);
    if (Number.isSafeInteger(asNumber)) return asNumber;
  }
  return id;
}

/** The show a hold or booking id (see `newRef` in random.ts) belongs to, or null when the id is malformed. */
export function showOfRef(ref: string): Id | null {
  return REF_PATTERN.exec(ref)?.[1] ?? null;
}
