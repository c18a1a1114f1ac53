import type { z } from "zod";
import { PATH_PARAMS, type PathParamName } from "../contract/requests";
import { HttpError } from "./responses";

/**
 * Validates a parsed JSON body or a query string. The first problem becomes a 400 whose
 * message names the field and says what it must be.
 */
export function parseBody<S extends z.ZodObject>(schema: S, body: Record<string, unknown>): z.output<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = String(issue.path[0] ?? "body");
  if (issue.path.length > 1) {
    // Deep inside a structure such as a seating plan: say where, as a JSON path.
    const path = jsonPath(issue.path);
    const message = issue.code === "custom" ? `${path} ${issue.message}` : `${path} ${describeIssue(issue)}`;
    throw new HttpError(400, message, { field, path });
  }
  const message =
    issue.code === "custom"
      ? issue.message
      : body[field] === undefined
        ? `${field} is required`
        : `${field} must be ${schema.shape[field]?.description ?? "valid"}`;
  throw new HttpError(400, message, { field });
}

/** `plan.zones[0].rows[2].seats[5].seat_guid`. */
function jsonPath(path: PropertyKey[]): string {
  return path
    .map((key, i) => (typeof key === "number" ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`))
    .join("");
}

/** What is wrong with a value deep in a body, in words. */
function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type" && /received undefined/.test(issue.message)) return "is required";
  const detail = issue.message.replace(/^Invalid \w+: /, "");
  return detail.startsWith("must") ? detail : `is invalid: ${detail}`;
}

/** Validates a path parameter, percent-decoded, against its declaration in PATH_PARAMS. */
export function parsePathParam<N extends PathParamName>(
  name: N,
  raw: string | undefined,
): z.output<(typeof PATH_PARAMS)[N]["schema"]> {
  const declared = PATH_PARAMS[name];
  const result = declared.schema.safeParse(decodePathSegment(raw));
  if (result.success) return result.data as z.output<(typeof PATH_PARAMS)[N]["schema"]>;
  const message = "invalid" in declared ? declared.invalid : result.error.issues[0]!.message;
  throw new HttpError(400, message, { field: name });
}

/** A path segment, percent-decoded; empty (and so invalid) when it does not decode. */
function decodePathSegment(raw: string | undefined): string {
  try {
    return decodeURIComponent(raw ?? "");
  } catch {
    return "";
  }
}
