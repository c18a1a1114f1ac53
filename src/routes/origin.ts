import type { Id } from "../ids";
import { clientHash } from "../http/client";
import type { Origin } from "../show/types";

/**
 * Who is asking and through which route, for the audit log, and the queue ticket whose admission
 * pass came with the request. User ids are prefixed so none can pass for "admin". A new hold's
 * client address counts against what one address may hold (see `HoldLedger.refuseOverAddressLimit`).
 */
export function originOf(
  route: string,
  actor: Id | "admin" | null,
  pass: string | null = null,
  client: string | null = null,
): Origin {
  return {
    route,
    actor: actor === null ? "anonymous" : actor === "admin" ? "admin" : `user:${actor}`,
    ...(pass === null ? {} : { pass }),
    // The address is stored hashed, and only while the hold lasts.
    ...(client === null ? {} : { client: clientHash(client) }),
  };
}
