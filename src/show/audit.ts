import { publicId } from "../ids";
import * as q from "./queries";
import type { AuditPage } from "./types";

/** One page of the audit log, oldest first, after sequence number `after`. */
export function auditPage(sql: SqlStorage, { after, limit }: { after: number; limit: number }): AuditPage {
  const rows = q.auditPage(sql, { after, limit: limit + 1 });
  const entries = rows
    .slice(0, limit)
    .map((row) => ({ ...row, seat_id: publicId(row.seat_id), at: new Date(row.at).toISOString() }));
  return { entries, next_after: rows.length > limit ? entries.at(-1)!.seq : null };
}
