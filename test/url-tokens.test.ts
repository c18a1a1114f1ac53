import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, adminHeaders, bearer, call, holdSeats, newShow, storedBookings } from "./helpers";

describe("tokens in the URL", () => {
  it.each(["token", "access_token", "admin_token", "Token", "ADMIN_TOKEN", "Hold_Token"])(
    "an admin request with ?%s= gets 401, even with a good header",
    async (name) => {
      const showId = await newShow(2);
      const response = await call(`/admin/shows/${showId}/log?${name}=${ADMIN_TOKEN}`, { headers: adminHeaders });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: "Send tokens in the Authorization header, never in the URL" });
    },
  );

  it("a hold token in the URL gets 401 and confirms nothing", async () => {
    const showId = await newShow(2);
    const hold = await holdSeats(showId, [1]);
    const response = await call(`/api/holds/${hold.hold_id}/confirm?hold_token=${hold.hold_token}`, {
      method: "POST",
      headers: bearer(hold.hold_token),
    });
    expect(response.status).toBe(401);
    expect(await storedBookings(showId)).toEqual([]);
  });
});
