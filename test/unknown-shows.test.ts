import { listDurableObjectIds } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { adminHeaders, bearer, call, post } from "./helpers";

describe("shows that do not exist", () => {
  it("answer 404 on every route and leave no database behind: 100 requests, no new show storage", async () => {
    const before = (await listDurableObjectIds(env.SHOW)).length;
    const statuses = new Set<number>();
    const nobody = () => `ghost-${crypto.randomUUID().slice(0, 12)}`;
    for (let i = 0; i < 10; i++) {
      const requests = [
        call(`/api/shows/${nobody()}/seats`),
        call(`/api/shows/${nobody()}/live`, { headers: { upgrade: "websocket" } }),
        post("/api/book-seat/", { show_id: nobody(), seat_id: 1 }),
        post(`/api/shows/${nobody()}/bookings`, { seat_ids: [1] }),
        post(`/api/shows/${nobody()}/holds`, { seat_ids: [1] }),
        call(`/api/holds/${nobody()}.AAAAAAAAAAAAAAAAAAAAAA`, { method: "DELETE", headers: bearer("ht_x") }),
        call(`/api/bookings/${nobody()}.AAAAAAAAAAAAAAAAAAAAAA`, { method: "DELETE", headers: bearer("bt_x") }),
        call(`/admin/shows/${nobody()}/log`, { headers: adminHeaders }),
        call(`/admin/shows/${nobody()}/bookings`, { method: "DELETE", headers: adminHeaders }),
        post(`/admin/shows/${nobody()}/seats/block`, { seat_ids: [1], reason: "x" }, adminHeaders),
      ];
      for (const response of await Promise.all(requests)) statuses.add(response.status);
    }
    expect([...statuses]).toEqual([404]);
    expect((await listDurableObjectIds(env.SHOW)).length).toBe(before);
  });
});
