import type { IRequest } from "itty-router";
import type { Id } from "../ids";
import type { Origin } from "../show/types";

/** Who is asking and through which route, for the audit log. User ids are prefixed so none can pass for "admin". */
export function originOf(request: IRequest, actor: Id | "admin" | null): Origin {
  return {
    route: `${request.method} ${request.route}`,
    actor: actor === null ? "anonymous" : actor === "admin" ? "admin" : `user:${actor}`,
  };
}
