import { buildRouter } from "./routes/router";

export { Catalog } from "./catalog/catalog";
export { Show } from "./show/show";

const router = buildRouter();

export default {
  fetch(request, env, ctx): Promise<Response> {
    return router.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
