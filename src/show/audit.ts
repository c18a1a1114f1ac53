import { publicId } from "../ids";
import * as q from "./queries";
import type { AuditPage, Origin } from "./types";

/** One page of the audit log, oldest first, after sequence number `after`. */
export function auditPage(sql: SqlStorage, { after, limit }: { after: number; limit: number }): AuditPage {
  const rows = q.auditPage(sql, { after, limit: limit + 1 });
  const entries = rows
    .slice(0, limit)
    .map((row) => ({ ...row, seat_id: publicId(row.seat_id), at: new Date(row.at).toISOString() }));
  return { entries, next_after: rows.length > limit ? entries.at(-1)!.seq : null };
}

/**
 * The actor of a change made with a hold's or booking's token, which the Worker only knows as
 * anonymous: the user the hold or booking was made for, as its own entry named them, when it was
 * made for one. (The token is the hold's or booking's own, given to whoever made it.)
 */
export function asOwner(origin: Origin, user: string | null): Origin {
  return origin.actor === "anonymous" && user !== null ? { ...origin, actor: `user:${user}` } : origin;
}
