import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { base64Url } from "../src/random";
import { sha256Hex } from "../src/sha256";
import { env } from "cloudflare:workers";
import { MAX_TOKEN_LENGTH } from "../src/http/auth";
import { bearer, bookSeat, countingNamespace, holdSeats, newShow, post, withEnv } from "./helpers";

describe("tokens", () => {
  it("are encoded as unpadded base64url, byte for byte as Node encodes it", () => {
    const samples = Array.from({ length: 65 }, (_, length) => crypto.getRandomValues(new Uint8Array(length)));
    // Every byte value, so every 6-bit group, '-' and '_' among them, shows up.
    samples.push(Uint8Array.from({ length: 256 }, (_, i) => i));
    for (const bytes of samples) expect(base64Url(bytes)).toBe(Buffer.from(bytes).toString("base64url"));
  });

  it("are hashed with SHA-256, as node:crypto hashes them", () => {
    // FIPS 180-4's own examples: one block, and a message whose padding needs a second block.
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).toBe(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    );
    const node = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");
    // Every byte length up to four blocks and a bit, so every padding boundary (55, 56, 64...).
    for (let length = 0; length <= 260; length++) {
      const text = Array.from({ length }, (_, i) => String.fromCharCode(32 + ((i * 7 + length) % 95))).join("");
      expect(sha256Hex(text), `${length} bytes`).toBe(node(text));
    }
    // Characters of 2, 3 and 4 UTF-8 bytes (the hash is of the bytes, not of the UTF-16 units).
    for (const text of ["é", "€", "😀", "aé€😀".repeat(20)]) expect(sha256Hex(text), text).toBe(node(text));
    const token = `bt_${base64Url(crypto.getRandomValues(new Uint8Array(32)))}`;
    expect(sha256Hex(token)).toBe(createHash("sha256").update(token).digest("hex"));
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

  it("longer than any the service gives out are refused at the edge: no object hashes one", async () => {
    const showId = await newShow(4);
    const hold = await holdSeats(showId, [1]);
    const booked = await (await bookSeat(showId, 2)).json<{ booking: { id: string } }>();
    const shows = countingNamespace(env.SHOW);
    const shards = countingNamespace(env.QUEUE_SHARD);
    const overrides = { SHOW: shows.namespace, QUEUE_SHARD: shards.namespace };
    const long = (prefix: string) => bearer(`${prefix}_${"A".repeat(60_000)}`);
    const requests: [string, RequestInit, string][] = [
      [`/api/holds/${hold.hold_id}/confirm`, { method: "POST", headers: long("ht") }, "hold_token"],
      [`/api/holds/${hold.hold_id}`, { method: "DELETE", headers: long("ht") }, "hold_token"],
      [`/api/bookings/${booked.booking.id}`, { method: "DELETE", headers: long("bt") }, "booking_token"],
      [`/api/queue/${showId}.0.${"A".repeat(22)}`, { headers: long("qt") }, "ticket_token"],
    ];
    for (const [path, init, what] of requests) {
      const response = await withEnv(overrides, path, init);
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({
        error: `This is not a ${what}: they are at most ${MAX_TOKEN_LENGTH} characters`,
      });
    }
    expect(shows.calls).toEqual({});
    expect(shards.calls).toEqual({});
    // One of the longest the service could give out still reaches the show, which finds it wrong.
    const wrong = await withEnv(overrides, `/api/holds/${hold.hold_id}/confirm`, {
      method: "POST",
      headers: bearer(`ht_${"A".repeat(MAX_TOKEN_LENGTH - 3)}`),
    });
    expect(wrong.status).toBe(403);
    expect(shows.calls.confirmHold).toBe(1);
  });
});
