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
  const message =
    issue.code === "custom"
      ? issue.message
      : body[field] === undefined
        ? `${field} is required`
        : `${field} must be ${schema.shape[field]?.description ?? "valid"}`;
  throw new HttpError(400, message, { field });
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
