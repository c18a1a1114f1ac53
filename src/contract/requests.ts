import { z } from "zod";
import { CURSOR_PATTERN, decodeCursor } from "../catalog/cursor";
import { MAX_SEATS_PER_REQUEST, type HoldPolicy } from "../config";
import { canonicalId, ID_PATTERN, ID_RULE, REF_PATTERN, showOfRef, type Id } from "../ids";
import { MAX_SEATS, PlanSchema, WELL_FORMED, wellFormed } from "./plan";

/**
 * What a request may carry: path parameters, bodies, query strings and headers. The router
 * validates every request with these schemas and the OpenAPI document is generated from them,
 * so the two cannot disagree. Each schema's `description` finishes the sentence
 * "<field> must be …" in a 400's message.
 */

export { MAX_SEATS };

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
  // JSON Schema can say "no item twice", though not that 10 and "10" are the same seat.
  .meta({ uniqueItems: true })
  .describe(`a list of 1 to ${MAX_SEATS_PER_REQUEST} distinct seat ids, each ${ID_RULE}`);

/** Free text such as a name or a reason: 1-200 characters, not all white space; stored trimmed. */
function text(rule: string) {
  return z
    .string()
    .min(1)
    .max(200)
    .regex(/\S/)
    .refine(wellFormed, WELL_FORMED)
    .transform((value) => value.trim())
    .describe(rule);
}

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

/** `best_available` of a hold: how many adjacent seats, optionally in one category and zone. */
const BestAvailableSchema = z
  .object({
    count: z.int().min(1).max(MAX_SEATS_PER_REQUEST),
    category: z.string().min(1).max(64).optional(),
    zone: z.string().min(1).max(200).optional(),
  })
  .describe(
    `an object {count, category, zone}: count a whole number from 1 to ${MAX_SEATS_PER_REQUEST}, category and zone optional names from the show's plan`,
  );

/** A hold names its seats, or asks for the best block of adjacent ones; exactly one of the two. */
export function holdBody(policy: HoldPolicy) {
  return z
    .object({
      seat_ids: SeatIdsSchema.optional(),
      best_available: BestAvailableSchema.optional(),
      user_id: UserIdSchema,
      ttl_seconds: ttlSchema(policy),
    })
    .superRefine(exactlyOne("seat_ids", "best_available"))
    .meta(oneOf("seat_ids", "best_available"));
}

export function extendBody(policy: HoldPolicy) {
  return z.object({ ttl_seconds: ttlSchema(policy) });
}

export const BlockBody = z.object({
  seat_ids: SeatIdsSchema,
  reason: text("a string of 1-200 characters, not all spaces"),
});

export const UnblockBody = z.object({ seat_ids: SeatIdsSchema });

/** A show's name and layout: a flat list of seats (the old way) or a seating plan; exactly one of the two. */
export const ShowLayoutBody = z
  .object({
    name: text("a string of 1-200 characters, not all spaces"),
    plan: PlanSchema.optional(),
    seats: z
      .union([
        z.int().min(1).max(MAX_SEATS),
        z.array(IdSchema).min(1).max(MAX_SEATS).superRefine(refuseRepeats("seats")).meta({ uniqueItems: true }),
      ])
      .transform((seats): Id[] =>
        typeof seats === "number" ? Array.from({ length: seats }, (_, i) => String(i + 1)) : seats,
      )
      .optional()
      .describe(
        `a seat count from 1 to ${MAX_SEATS} (seat ids 1..N), or a list of 1 to ${MAX_SEATS} distinct seat ids`,
      ),
    max_seats_per_order: z
      .int()
      .min(1)
      .max(MAX_SEATS_PER_REQUEST)
      .optional()
      .describe(
        `a whole number from 1 to ${MAX_SEATS_PER_REQUEST}: the most seats one hold or group booking may name; optional, 10 for a new show, unchanged for an existing one`,
      ),
  })
  .superRefine(exactlyOne("seats", "plan"))
  .meta(oneOf("seats", "plan"));

/** How the document says "exactly one of these two fields". */
function oneOf(first: string, second: string) {
  return { oneOf: [{ required: [first] }, { required: [second] }] };
}

/** A body that must have exactly one of two fields. */
function exactlyOne(first: string, second: string) {
  return (body: Record<string, unknown>, ctx: z.RefinementCtx) => {
    const given = [first, second].filter((field) => body[field] !== undefined).length;
    if (given !== 1) ctx.addIssue({ code: "custom", path: [first], message: `Give either ${first} or ${second}` });
  };
}

/** A show's waiting room, as an admin turns it on. */
export const WaitingRoomBody = z.object({
  opens_at: z.iso
    .datetime({ offset: true })
    .transform((value) => Date.parse(value))
    .describe("an ISO 8601 time, e.g. 2026-12-01T10:00:00Z: when admission starts"),
  admit_per_minute: z.int().min(1).max(100_000).describe("a whole number from 1 to 100000: buyers let in a minute"),
  session_minutes: z
    .int()
    .min(1)
    .max(240)
    .describe("a whole number from 1 to 240: how long an admission pass lasts, in minutes"),
});

/** `?category=` and `?zone=` of the seat map: only the seats of that category and zone. */
export const SeatMapQuery = z.object({
  category: z.string().min(1).max(64).optional().describe("a category name from the show's plan; optional"),
  zone: z.string().min(1).max(200).optional().describe("a zone name from the show's plan; optional"),
});

/**
 * A whole-number query parameter. Query values are text, so only plain decimal digits are
 * read as a number (`?limit=1e2` or `?limit=0x10` are refused, not guessed at); absent means
 * `fallback`. The document shows the number it stands for.
 */
function queryInteger(min: number, max: number, fallback: number, rule: string) {
  return z
    .string()
    .regex(/^-?[0-9]{1,16}$/)
    .optional()
    .transform((value) => (value === undefined ? fallback : Number(value)))
    .pipe(z.int().min(min).max(max))
    .meta({ default: fallback })
    .describe(rule);
}

/** Like `queryInteger`, with no default: absent stays absent. */
function optionalQueryInteger(min: number, rule: string) {
  return z
    .string()
    .regex(/^-?[0-9]{1,16}$/)
    .optional()
    .transform((value) => (value === undefined ? undefined : Number(value)))
    .pipe(z.int().min(min).optional())
    .describe(rule);
}

/** Shows on a page of the show list unless `?limit=` says otherwise, and at most. */
export const SHOW_LIST_DEFAULT_LIMIT = 50;
export const SHOW_LIST_MAX_LIMIT = 200;

/** `?limit=` and `?cursor=` of the show list. */
export const ShowListQuery = z.object({
  limit: queryInteger(
    1,
    SHOW_LIST_MAX_LIMIT,
    SHOW_LIST_DEFAULT_LIMIT,
    `a whole number from 1 to ${SHOW_LIST_MAX_LIMIT}; optional, ${SHOW_LIST_DEFAULT_LIMIT} by default`,
  ),
  cursor: z
    .string()
    .regex(CURSOR_PATTERN)
    .optional()
    .transform((cursor) => (cursor === undefined ? undefined : decodeCursor(cursor)))
    .describe("the next_cursor of the page before, as it was given; optional"),
});

/** `?after=` and `?limit=` of the audit log. */
export const AuditLogQuery = z.object({
  after: queryInteger(0, Number.MAX_SAFE_INTEGER, 0, "a sequence number, 0 or more; optional"),
  limit: queryInteger(1, 500, 100, "a whole number from 1 to 500; optional"),
});

/**
 * `?since=&layout=` of a live client that reconnects: the last change it saw, under which
 * layout. A client that gives only one of them gets a fresh snapshot, as one too far behind does.
 */
export const LiveQuery = z.object({
  since: optionalQueryInteger(0, "the version of the last change the client saw, 0 or more; used with layout"),
  layout: optionalQueryInteger(0, "the layout version the client saw, 0 or more; used with since"),
});

function refuseRepeats(field: string) {
  return (ids: Id[], ctx: z.RefinementCtx) => {
    // A set, not indexOf: a list of 100,000 seats is checked in linear time.
    const seen = new Set<Id>();
    const repeated = ids.find((id) => seen.has(id) || (seen.add(id), false));
    if (repeated !== undefined) {
      ctx.addIssue({ code: "custom", message: `${field} must not list seat '${repeated}' twice` });
    }
  };
}

// ---- Path parameters ----------------------------------------------------------------------

/** A queue ticket: its show, its shard, and 22 random characters. */
const TICKET_PATTERN = /^([A-Za-z0-9_-]{1,64})\.([0-9]{1,2})\.[A-Za-z0-9_-]{22}$/;

const IdInPath = z.string().regex(ID_PATTERN);

/** A hold or booking id in the path, read as the id and the show it belongs to. */
function refInPath(what: string) {
  return z
    .string()
    .regex(REF_PATTERN, { error: `${what.replace(" ", "_")} in the path is not a valid ${what}` })
    .transform((ref) => ({ ref, showId: showOfRef(ref)! }));
}

/**
 * Every path parameter a route pattern may use (`:show_id` …), with its schema, what it is
 * (for the document), and the 400 a malformed one gets. A route's parameters are the names in
 * its path; the router validates each one, percent-decoded, before the handler runs.
 */
export const PATH_PARAMS = {
  show_id: { schema: IdInPath, about: "A show id", invalid: `show_id in the path must be ${ID_RULE}` },
  seat_id: { schema: IdInPath, about: "A seat id", invalid: `seat_id in the path must be ${ID_RULE}` },
  hold_id: { schema: refInPath("hold id"), about: "A hold id, as creating the hold returned it" },
  booking_id: { schema: refInPath("booking id"), about: "A booking id, as booking returned it" },
  ticket_id: {
    schema: z
      .string()
      .regex(TICKET_PATTERN, { error: "ticket_id in the path is not a valid queue ticket id" })
      .transform((ref) => {
        const [, showId, shard] = TICKET_PATTERN.exec(ref)!;
        return { ref, showId: showId!, shard: Number(shard) };
      }),
    about: "A queue ticket id, as joining the queue returned it",
  },
} satisfies Record<string, { schema: z.ZodType<unknown, string>; about: string; invalid?: string }>;

export type PathParamName = keyof typeof PATH_PARAMS;

// ---- Headers ------------------------------------------------------------------------------

/** The pass a waiting room gave the buyer; needed by holds and bookings while the show's room is on. */
export const AdmissionPassHeader = z
  .string()
  .max(512)
  .describe("The admission pass from the show's waiting room; required while the room is on (403 without)");

/** Long enough that two clients do not pick the same key by chance: a UUID is 36 characters. */
export const IdempotencyKeyHeader = z
  .string()
  .regex(/^[\x21-\x7e]{16,255}$/, {
    error: "Idempotency-Key must be 16-255 visible ASCII characters; a random UUID is best",
  })
  .describe(
    "Replays the first answer that made a change to the same key and body for 24 hours (a refusal is not kept); another body gets 422 once an answer is kept",
  );
