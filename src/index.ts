import type { IRequest } from "itty-router";
import { logRequest, writeUnlogged } from "./http/log";
import { createRouter } from "./routes";

export { Catalog } from "./catalog/catalog";
export { LiveRelay } from "./live/relay";
export { QueueShard } from "./queue/shard";
export { WaitingRoom } from "./queue/room";
export { Show } from "./show/show";

const router = createRouter();

export default {
  async fetch(request, env, ctx): Promise<Response> {
    const started = Date.now();
    const response = await router.fetch(request, env, ctx);
    if (response.status >= 400) logRequest(request as unknown as IRequest, response.status, Date.now() - started);
    else writeUnlogged();
    // A HEAD is answered as its GET, errors included, without the body (RFC 9110, 9.3.2).
    if (request.method === "HEAD") return new Response(null, { status: response.status, headers: response.headers });
    return response;
  },
} satisfies ExportedHandler<Env>;
