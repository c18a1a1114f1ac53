import type { Id } from "../ids";
import type { Origin } from "../show/types";

/** Who is asking and through which route, for the audit log. User ids are prefixed so none can pass for "admin". */
export function originOf(route: string, actor: Id | "admin" | null): Origin {
  return {
    route,
    actor: actor === null ? "anonymous" : actor === "admin" ? "admin" : `user:${actor}`,
  };
}
