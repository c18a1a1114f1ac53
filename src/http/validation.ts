import { z } from "zod";
import { canonicalId, ID_PATTERN, type Id } from "../ids";
import { HttpError } from "./responses";

/** The most seats one show may have. */
export const MAX_SEATS = 10_000;

const ID_RULE = "a positive integer, or a string of 1-64 characters from A-Z, a-z, 0-9, '_' and '-'";

/** A show, seat or user id, in either accepted form, made canonical. */
export const IdSchema = z
  .union([z.int().min(1), z.string().regex(ID_PATTERN)])
  .transform(canonicalId)
  .describe(ID_RULE);

export const BookSeatBody = z.object({
  show_id: IdSchema,
  seat_id: IdSchema,
  user_id: IdSchema.nullable()
    .optional()
    .transform((value) => value ?? null)
    .describe(`${ID_RULE}; optional`),
});

export const ShowLayoutBody = z.object({
  name: z.string().trim().min(1).max(200).describe("a string of 1-200 characters"),
  seats: z
    .union([
      z.int().min(1).max(MAX_SEATS),
      z
        .array(IdSchema)
        .min(1)
        .max(MAX_SEATS)
        .superRefine((ids, ctx) => {
          const repeated = ids.find((id, index) => ids.indexOf(id) !== index);
          if (repeated !== undefined) {
            ctx.addIssue({ code: "custom", message: `seats must not list seat '${repeated}' twice` });
          }
        }),
    ])
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
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw ?? "");
  } catch {
    decoded = "";
  }
  if (!ID_PATTERN.test(decoded)) {
    throw new HttpError(400, `${name} in the path must be ${ID_RULE}`, { field: name });
  }
  return decoded;
}
