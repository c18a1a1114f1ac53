import { z } from "zod";
import { MAX_SEATS_PER_REQUEST, type HoldPolicy } from "../config";
import { canonicalId, ID_PATTERN, showOfRef, type Id } from "../ids";
import { HttpError } from "./responses";

/** The most seats one show may have. */
export const MAX_SEATS = 10_000;

const ID_RULE = "a positive integer, or a string of 1-64 characters from A-Z, a-z, 0-9, '_' and '-'";

/** A show, seat or user id, in either accepted form, made canonical. */
export const IdSchema = z
  .union([z.int().min(1), z.string().regex(ID_PATTERN)])
  .transform(canonicalId)
  .describe(ID_RULE);

const UserIdSchema = IdSchema.nullable()
  .optional()
  .transform((value) => value ?? null)
  .describe(`${ID_RULE}; optional`);

/** Seat ids named by a hold, group booking or block: distinct, and not too many. */
const SeatIdsSchema = z
  .array(IdSchema)
  .min(1)
  .max(MAX_SEATS_PER_REQUEST)
  .superRefine(refuseRepeats("seat_ids"))
  .describe(`a list of 1 to ${MAX_SEATS_PER_REQUEST} distinct seat ids, each ${ID_RULE}`);

export const BookSeatBody = z.object({
  show_id: IdSchema,
  seat_id: IdSchema,
  user_id: UserIdSchema,
});

export const GroupBookingBody = z.object({
  seat_ids: SeatIdsSchema,
  user_id: UserIdSchema,
});

/** `ttl_seconds` within the configured bounds; absent means the default. */
function ttlSchema(policy: HoldPolicy) {
  return z
    .int()
    .min(policy.minTtl)
    .max(policy.maxTtl)
    .optional()
    .transform((value) => value ?? policy.defaultTtl)
    .describe(
      `a whole number of seconds from ${policy.minTtl} to ${policy.maxTtl}; optional, ${policy.defaultTtl} by default`,
    );
}

export function holdBody(policy: HoldPolicy) {
  return z.object({ seat_ids: SeatIdsSchema, user_id: UserIdSchema, ttl_seconds: ttlSchema(policy) });
}

export function extendBody(policy: HoldPolicy) {
  return z.object({ ttl_seconds: ttlSchema(policy) });
}

const ReasonSchema = z.string().trim().min(1).max(200).describe("a string of 1-200 characters");

export const BlockBody = z.object({ seat_ids: SeatIdsSchema, reason: ReasonSchema });

export const UnblockBody = z.object({ seat_ids: SeatIdsSchema });

/** `?after=` and `?limit=` of the audit log. */
export const AuditLogQuery = z.object({
  after: z.coerce.number().int().min(0).default(0).describe("a sequence number, 0 or more; optional"),
  limit: z.coerce.number().int().min(1).max(500).default(100).describe("a whole number from 1 to 500; optional"),
});

function refuseRepeats(field: string) {
  return (ids: Id[], ctx: z.RefinementCtx) => {
    const repeated = ids.find((id, index) => ids.indexOf(id) !== index);
    if (repeated !== undefined) {
      ctx.addIssue({ code: "custom", message: `${field} must not list seat '${repeated}' twice` });
    }
  };
}

export const ShowLayoutBody = z.object({
  name: z.string().trim().min(1).max(200).describe("a string of 1-200 characters"),
  seats: z
    .union([z.int().min(1).max(MAX_SEATS), z.array(IdSchema).min(1).max(MAX_SEATS).superRefine(refuseRepeats("seats"))])
    .transform((seats): Id[] =>
      typeof seats === "number" ? Array.from({ length: seats }, (_, i) => String(i + 1)) : seats,
    )
    .describe(`a seat count from 1 to ${MAX_SEATS} (seat ids 1..N), or a list of 1 to ${MAX_SEATS} distinct seat ids`),
});

/**
 * Validates a parsed JSON body. The first problem becomes a 400 whose message
 * names the field and says what it must be.
 */
export function parseBody<S extends z.ZodObject>(schema: S, body: Record<string, unknown>): z.output<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = String(issue.path[0] ?? "body");
  const message =
    issue.code === "custom"
      ? issue.message
      : body[field] === undefined
        ? `${field} is required`
        : `${field} must be ${schema.shape[field]?.description ?? "valid"}`;
  throw new HttpError(400, message, { field });
}

/** Validates an id taken from the URL path. */
export function parsePathId(name: string, raw: string | undefined): Id {
  const decoded = decodePathSegment(raw);
  if (!ID_PATTERN.test(decoded)) {
    throw new HttpError(400, `${name} in the path must be ${ID_RULE}`, { field: name });
  }
  return decoded;
}

/** Validates a hold or booking id from the path and returns it with the show it belongs to. */
export function parseRef(name: string, raw: string | undefined): { ref: string; showId: Id } {
  const ref = decodePathSegment(raw);
  const showId = showOfRef(ref);
  if (showId === null) {
    throw new HttpError(400, `${name} in the path is not a valid ${name.replace("_", " ")}`, { field: name });
  }
  return { ref, showId };
}

/** A path segment, percent-decoded; empty (and so invalid) when it does not decode. */
function decodePathSegment(raw: string | undefined): string {
  try {
    return decodeURIComponent(raw ?? "");
  } catch {
    return "";
  }
}
