import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import { base64Url } from "../src/random";
import { holdSeats, newShow, post } from "./helpers";

describe("tokens", () => {
  it("are encoded as unpadded base64url, byte for byte as Node encodes it", () => {
    const samples = Array.from({ length: 65 }, (_, length) => crypto.getRandomValues(new Uint8Array(length)));
    // Every byte value, so every 6-bit group, '-' and '_' among them, shows up.
    samples.push(Uint8Array.from({ length: 256 }, (_, i) => i));
    for (const bytes of samples) expect(base64Url(bytes)).toBe(Buffer.from(bytes).toString("base64url"));
  });

  it("hold and booking tokens carry 256 random bits and never repeat", async () => {
    const showId = await newShow(40);
    const tokens = new Set<string>();
    for (let seat = 1; seat <= 20; seat++) tokens.add((await holdSeats(showId, [seat])).hold_token);
    const response = await post(`/api/shows/${showId}/bookings`, {
      seat_ids: Array.from({ length: 20 }, (_, i) => i + 21),
    });
    const { bookings } = await response.json<{ bookings: { booking_token: string }[] }>();
    for (const { booking_token } of bookings) tokens.add(booking_token);
    expect(tokens.size).toBe(40);
    for (const token of tokens) expect(token).toMatch(/^(ht|bt)_[A-Za-z0-9_-]{43}$/); // 43 base64url characters = 256 bits
  });
});
