import type { IRequest } from "itty-router";
import { positiveInteger } from "../config";
import { refuseOtherSites } from "./auth";
import { clientKey } from "./client";
import { warnOnce } from "./log";
import { HttpError } from "./responses";

/**
 * Limits the public routes that change state, per client IP, with the Workers Rate Limiting
 * binding (limits in wrangler.toml). `RATE_LIMITING = "off"` turns it off. A deployment whose
 * binding is missing serves unlimited rather than refusing every booking, and says so in its log.
 * `key` is the request's `clientKey`, where the caller has it already. A browser request from
 * another site's page is refused instead (see `refuseOtherSites`): a read that costs a request of
 * the client's budget (a filtered seat map, a show the isolate does not know) would otherwise let
 * that page spend its visitors' budgets, and have their own bookings refused.
 */
export async function rateLimited(request: IRequest, env: Env, key?: string): Promise<void> {
  if (env.RATE_LIMITING === "off") return;
  refuseOtherSites(request as unknown as Request);
  await spendRequest(request, env, key);
}

/**
 * `rateLimited` for an operation declared rate limited, which the router has already refused from
 * other sites' pages (every such operation changes something or acts): the request is only spent.
 */
export async function rateLimitedOperation(request: IRequest, env: Env, key?: string): Promise<void> {
  if (env.RATE_LIMITING === "off") return;
  await spendRequest(request, env, key);
}

/** Requests that have spent one of their client's allowance: one request never spends two. */
const spent = new WeakSet<object>();

/** Whether `request` has spent a request of its client's rate limit already. */
export function hasSpent(request: object): boolean {
  return spent.has(request);
}

async function spendRequest(request: IRequest, env: Env, key?: string): Promise<void> {
  spent.add(request);
  if (!env.BOOKING_RATE_LIMITER) {
    return warnOnce("rate limiting is on but BOOKING_RATE_LIMITER is not bound: requests are not limited");
  }
  const { success } = await env.BOOKING_RATE_LIMITER.limit({ key: key ?? clientKey(request) });
  if (!success) {
    const retryAfter = String(positiveInteger(env.RATE_LIMIT_PERIOD_SECONDS, 10, 60 * 60));
    throw new HttpError(
      429,
      "Too many requests from this address; slow down and retry later",
      {},
      { "retry-after": retryAfter },
    );
  }
}
