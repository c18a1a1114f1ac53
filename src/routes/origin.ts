import type { Id } from "../ids";
import { clientHash } from "../http/client";
import type { Origin } from "../show/types";

/**
 * Who is asking through a public route, and through which route, for the audit log, and the queue
 * ticket whose admission pass came with the request. A user id the client sent is logged as
 * `user:<id>`, whatever it is: "admin" too, so that no buyer can pass for the admin (see
 * `adminOrigin`). A new hold's client address counts against what one address may hold (see
 * `HoldLedger.refuseOverAddressLimit`).
 */
export function originOf(
  route: string,
  user: Id | null,
  pass: string | null = null,
  client: { key: string; secret: string | undefined } | null = null,
): Origin {
  return {
    route,
    actor: user === null ? "anonymous" : `user:${user}`,
    ...(pass === null ? {} : { pass }),
    // The address is stored hashed (keyed with the queue's secret, when there is one, as queue
    // tickets' are: without it, nobody can work the address out by hashing every address there
    // is), and only while the hold lasts.
    ...(client === null ? {} : { client: clientHash(client.key, client.secret) }),
  };
}

/** A change the admin token made, through `route`. */
export function adminOrigin(route: string): Origin {
  return { route, actor: "admin" };
}
