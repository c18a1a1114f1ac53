import { sha256Hex } from "../sha256";

/**
 * The client a per-address budget counts against (rate limits, the admin throttle, live sockets per
 * relay, seats held, queue tickets): its IPv4 address, or the /64 network of its IPv6 address, or,
 * for another zone's Worker (all of which call from one address), `worker:<zone>`. One IPv6
 * subscriber is given a whole /64 (2^64 addresses), so counting single IPv6 addresses would let
 * one client pass every budget by changing the last bits of its own.
 */
export function clientKey(request: Request): string {
  const address = request.headers.get("cf-connecting-ip");
  if (address === null) return "unknown";
  if (IPV4.test(address)) return address;
  const groups = ipv6Groups(address);
  // Cloudflare always sets an address; anything else comes from a client that reached the Worker
  // some other way (`wrangler dev`), which gets no allowance of its own for it (nor a key of any
  // length: a socket's tag, say, has a limit).
  if (groups === undefined) return "unknown";
  // An IPv4 address written as IPv6, however written (::ffff:192.0.2.1, ::ffff:c000:201), is that
  // IPv4 address: all such addresses are one /64 (::ffff:0:0/96), which would be one allowance.
  if (groups.slice(0, 6).join(":") === "0:0:0:0:0:ffff") return ipv4Of(groups[6]!, groups[7]!);
  // Every Worker on another zone calls from one address; Cloudflare names the calling zone in
  // CF-Worker, so that one zone's Worker cannot spend every other's allowance (an admin tool's).
  const zone = request.headers.get("cf-worker")?.toLowerCase();
  if (groups.join(":") === WORKERS_ADDRESS && zone !== undefined && ZONE.test(zone)) return `worker:${zone}`;
  return `${groups.slice(0, 4).join(":")}::/64`;
}

/** The address Cloudflare sends other zones' Workers' subrequests from (2a06:98c0:3600::103), as `ipv6Groups` writes it. */
const WORKERS_ADDRESS = "2a06:98c0:3600:0:0:0:0:103";
const ZONE = /^[a-z0-9.-]{1,253}$/;

/**
 * A client key as an object stores it (on a hold, on a queue ticket): hashed, so that no address
 * is kept in the clear, and only for as long as the limit it serves needs it. With a `secret`
 * (the queue's), the hash is keyed: without the secret, nobody can compute it from an address.
 * (The secret comes first and the hash is never shown, so SHA-256's length extension gives
 * nothing away; this is not a MAC anyone verifies.)
 */
export function clientHash(client: string, secret = ""): string {
  return sha256Hex(secret === "" ? client : `${secret}\n${client}`).slice(0, 32);
}

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/** The eight groups of an IPv6 address, "::" filled in and leading zeros dropped; undefined when it is not one. */
function ipv6Groups(address: string): string[] | undefined {
  // An IPv4 address may stand for the last two groups (::ffff:192.0.2.1).
  const dotted = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(address);
  if (dotted) {
    const bytes = dotted[2]!.split(".").map(Number);
    if (bytes.some((byte) => byte > 255)) return undefined;
    address = `${dotted[1]}${((bytes[0]! << 8) | bytes[1]!).toString(16)}:${((bytes[2]! << 8) | bytes[3]!).toString(16)}`;
  }
  const halves = address.toLowerCase().split("::");
  if (halves.length > 2) return undefined;
  const [head, tail] = halves.map((half) => (half === "" ? [] : half.split(":")));
  const missing = 8 - head!.length - (tail?.length ?? 0);
  // "::" stands for one group or more: an address with eight groups around it is none.
  if (tail !== undefined && missing < 1) return undefined;
  const groups = tail === undefined ? head! : [...head!, ...Array<string>(missing).fill("0"), ...tail];
  if (groups.length !== 8 || !groups.every((group) => /^[0-9a-f]{1,4}$/.test(group))) return undefined;
  return groups.map((group) => parseInt(group, 16).toString(16));
}

/** The IPv4 address in the last two groups of an IPv6 address. */
function ipv4Of(high: string, low: string): string {
  const [a, b] = [parseInt(high, 16), parseInt(low, 16)];
  return [a >> 8, a & 255, b >> 8, b & 255].join(".");
}
