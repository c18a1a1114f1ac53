import { describe, expect, it } from "vitest";
import { clientKey } from "../src/http/client";
import { countingLimiter, newShow, withEnv } from "./helpers";

const from = (address?: string) =>
  new Request("https://seats.test/", { headers: address === undefined ? {} : { "cf-connecting-ip": address } });

describe("the client a per-address budget counts against", () => {
  it.each([
    ["203.0.113.5", "203.0.113.5"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:0DB8:0001:0002::1", "2001:db8:1:2::/64"],
    ["2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"],
    ["2001:db8::1", "2001:db8:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    // An IPv4 address written as IPv6 is that address, however it is written.
    ["::ffff:192.0.2.1", "192.0.2.1"],
    ["::FFFF:c000:201", "192.0.2.1"],
    ["0:0:0:0:0:ffff:c000:0201", "192.0.2.1"],
    ["0:0:0:0:0:ffff:192.0.2.1", "192.0.2.1"],
    ["::ffff:198.51.100.7", "198.51.100.7"],
    // Other IPv6 addresses with an IPv4 address in their last groups are IPv6 addresses.
    ["64:ff9b::192.0.2.1", "64:ff9b:0:0::/64"],
    ["::ffff:192.0.2.300", "unknown"],
    // Only a client that reaches the Worker without Cloudflare in front can send these.
    ["not::an::address", "unknown"],
    // "::" among eight groups already stands for none: not an address (it threw, and answered 500).
    ["1:2:3:4:5::6:7:8:9", "unknown"],
    ["1:2:3:4::5:6:7:8", "unknown"],
    ["203.0.113.5; drop", "unknown"],
    [`x:${"b".repeat(300)}`, "unknown"],
  ])("is %s → %s", (address, key) => {
    expect(clientKey(from(address))).toBe(key);
  });

  it("counts another zone's Worker, which Cloudflare sends from one address for all of them, by its zone", () => {
    const worker = (zone?: string) =>
      clientKey(
        new Request("https://seats.test/", {
          headers: { "cf-connecting-ip": "2a06:98c0:3600::103", ...(zone === undefined ? {} : { "cf-worker": zone }) },
        }),
      );
    expect(worker("Tickets.Example")).toBe("worker:tickets.example");
    expect(worker("attacker.example")).toBe("worker:attacker.example");
    expect(worker()).toBe("2a06:98c0:3600:0::/64");
    expect(worker("not a zone")).toBe("2a06:98c0:3600:0::/64");
  });

  it("is 'unknown' without CF-Connecting-IP", () => {
    expect(clientKey(from())).toBe("unknown");
  });

  it("gives two addresses of one IPv6 /64 one allowance between them, and another /64 its own", async () => {
    const showId = await newShow(10);
    const on = { RATE_LIMITING: "on", BOOKING_RATE_LIMITER: countingLimiter(2) as unknown as RateLimit };
    const book = (address: string, seat: number) =>
      withEnv(on, "/api/book-seat/", {
        method: "POST",
        headers: { "cf-connecting-ip": address },
        body: JSON.stringify({ show_id: showId, seat_id: seat }),
      });
    const statuses = [];
    for (const [i, address] of ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:aaaa::3"].entries())
      statuses.push((await book(address, i + 1)).status);
    expect(statuses).toEqual([200, 200, 429]);
    expect((await book("2001:db8:1:3::1", 4)).status).toBe(200);
  });
});
