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
  client: { key: string; secret: string | undefined } | null = null,
): Origin {
  return {
    route,
    actor: actor === null ? "anonymous" : actor === "admin" ? "admin" : `user:${actor}`,
    ...(pass === null ? {} : { pass }),
    // The address is stored hashed (keyed with the queue's secret, when there is one, as queue
    // tickets' are: without it, nobody can work the address out by hashing every address there
    // is), and only while the hold lasts.
    ...(client === null ? {} : { client: clientHash(client.key, client.secret) }),
  };
}
