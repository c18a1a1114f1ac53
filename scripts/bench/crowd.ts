/**
 * The benchmark's crowd, in a process of its own so that it does not slow the bookings the
 * benchmark times: live watchers, a resync attacker, one who ignores the server's close, or
 * seat-map readers, against one show.
 *
 *   node scripts/bench/crowd.ts <watchers|attacker|hostile|readers> <url> <show_id> <count>
 *
 * It prints one JSON line when it is ready, then reads commands from stdin, one a line: `on` and
 * `off` start and stop the attacker and the readers (the benchmark takes turns with and without
 * them; the watchers stay connected throughout), each answered with a JSON line once done, and
 * `finish`, answered with one JSON line of results before it exits.
 */
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { createInterface } from "node:readline";
import { performance } from "node:perf_hooks";
import { Client } from "../lib/http-client.ts";

const [mode, url, showId, countText] = process.argv.slice(2);
const count = Number(countText);
const wsUrl = `${url!.replace(/^http/, "ws")}/api/shows/${encodeURIComponent(showId!)}/live`;
const STATUS: Record<string, string> = { available: "a", held: "h", booked: "b", blocked: "x" };

const emit = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);

/** What the crowd does on `on` and `off`; `finish` ends the run. */
interface Switch {
  on(): void | Promise<void>;
  off(): void | Promise<void>;
}
let switchable: Switch = { on() {}, off() {} };
const finished = new Promise<void>((resolve) => {
  const commands = createInterface({ input: process.stdin });
  // One command at a time, each answered when done, so that a turn starts with the crowd as asked.
  let queue = Promise.resolve();
  commands.on("line", (line) => {
    queue = queue.then(async () => {
      if (line === "on" || line === "off") {
        // A failure is answered too (the bench stops on any answer but the one it asked for).
        await Promise.resolve(switchable[line]()).then(
          () => emit({ [line]: true }),
          (error: unknown) => emit({ [line]: false, error: String(error) }),
        );
      } else if (line === "finish") {
        commands.close();
        resolve();
      }
    });
  });
});

/** One live watcher: keeps every seat's status as the protocol tells it. */
class Watcher {
  statuses: string[] = [];
  version = 0;
  layout = 0;
  messages = 0;
  resyncs = 0;
  readonly opened: Promise<void>;
  private readonly socket: WebSocket;

  constructor() {
    this.socket = new WebSocket(wsUrl);
    let greeted: () => void;
    this.opened = new Promise((resolve, reject) => {
      greeted = resolve;
      this.socket.addEventListener("error", () => reject(new Error("a watcher could not connect")));
    });
    this.socket.addEventListener("message", (event) => {
      this.messages++;
      const message = JSON.parse(String(event.data));
      if (message.type === "echo") {
        // The relay checks that its watchers read what they are sent (see src/live/reading.ts).
        this.socket.send(String(event.data));
      } else if (message.type === "layout") {
        this.layout = message.layout;
      } else if (message.type === "snapshot" && message.layout === this.layout) {
        this.version = message.version;
        this.statuses = [...message.statuses];
        greeted();
      } else if (message.type === "changes" && message.layout === this.layout) {
        if (message.since > this.version) {
          this.resyncs++;
          this.socket.send(JSON.stringify({ type: "resync", since: this.version, layout: this.layout }));
          return;
        }
        for (const change of message.changes) {
          if (change.version <= this.version) continue;
          this.statuses[change.place] = STATUS[change.status]!;
        }
        this.version = Math.max(this.version, message.version);
        greeted();
      }
    });
  }

  close(): void {
    this.socket.close(1000);
  }
}

async function watchers(): Promise<void> {
  const started = performance.now();
  const crowd: Watcher[] = [];
  // Connect in waves of 100, as a crowd arriving over a few seconds would.
  for (let i = 0; i < count; i += 100) {
    const wave = Array.from({ length: Math.min(100, count - i) }, () => new Watcher());
    await Promise.all(wave.map((watcher) => watcher.opened));
    crowd.push(...wave);
  }
  emit({ ready: true, connectMs: performance.now() - started });
  await finished;
  // Let the last batches arrive, and the seat map's copies (at most a second old) catch up.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const client = new Client(url!, 1);
  const map = JSON.parse((await client.send("GET", `/api/shows/${encodeURIComponent(showId!)}/seats`)).body) as {
    seats: { seat_id: string | number; status: string }[];
  };
  await client.close();
  const truth = map.seats.map((seat) => STATUS[seat.status]).join("");
  const agreeing = crowd.filter((watcher) => watcher.statuses.join("") === truth).length;
  emit({
    watchers: crowd.length,
    agreeing,
    messages: crowd.reduce((sum, watcher) => sum + watcher.messages, 0),
    resyncs: crowd.reduce((sum, watcher) => sum + watcher.resyncs, 0),
  });
  for (const watcher of crowd) watcher.close();
}

/**
 * One socket at a time that sends resync frames as fast as it can until the server closes it or
 * the crowd is switched off. Each `on` opens a new one, as an attacker who comes back would.
 */
async function attacker(): Promise<void> {
  let frames = 0;
  const closes: Promise<number>[] = [];
  let current: WebSocket | null = null;
  switchable = {
    async on() {
      if (current?.readyState === WebSocket.OPEN) return;
      const socket = new WebSocket(wsUrl);
      current = socket;
      closes.push(
        new Promise<number>((resolve) => {
          socket.addEventListener("close", (event) => resolve(event.code));
          socket.addEventListener("error", () => resolve(0));
        }),
      );
      await new Promise((resolve) => {
        socket.addEventListener("open", resolve);
        socket.addEventListener("error", resolve);
      });
      const spam = () => {
        for (let burst = 0; burst < 1000 && socket.readyState === WebSocket.OPEN && current === socket; burst++) {
          socket.send(JSON.stringify({ type: "resync", since: 0, layout: 999 }));
          frames++;
        }
        if (socket.readyState === WebSocket.OPEN && current === socket) setImmediate(spam);
      };
      spam();
    },
    off() {
      // A socket the server has not closed by now is closed here (1000), and counted as such.
      if (current?.readyState === WebSocket.OPEN) current.close(1000);
      current = null;
    },
  };
  emit({ ready: true });
  await finished;
  switchable.off();
  const codes = await Promise.all(
    closes.map((closed) =>
      Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 1000))]),
    ),
  );
  const closeCodes: Record<string, number> = {};
  for (const code of codes) closeCodes[code] = (closeCodes[code] ?? 0) + 1;
  emit({ frames, sockets: codes.length, closeCodes });
}

/**
 * The attacker who ignores the server's close: one raw TCP connection at a time, upgraded to the
 * live WebSocket, that writes resync frames as fast as the connection takes them and never
 * answers the close frame (a browser's WebSocket stops sending when it sees one; a script on a
 * raw socket need not). An `on` opens a connection unless one is open; `off` drops it. It notes the close code
 * the server sent on each.
 */
async function hostile(): Promise<void> {
  const { hostname, port } = new URL(url!);
  const frame = maskedTextFrame(JSON.stringify({ type: "resync", since: 0, layout: 999 }));
  const burst = Buffer.concat(Array.from({ length: 200 }, () => frame));
  let frames = 0;
  const closeCodes: Record<string, number> = {};
  let current: Socket | null = null;
  switchable = {
    async on() {
      // One connection is held through consecutive crowd turns; a dropped one is replaced.
      if (current !== null && !current.destroyed) return;
      const socket = connect(Number(port), hostname);
      current = socket;
      await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
      const key = randomBytes(16).toString("base64");
      socket.write(
        `GET /api/shows/${encodeURIComponent(showId!)}/live HTTP/1.1\r\nHost: ${hostname}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      let code: number | null = null;
      const reader = serverFrames((opcode, payload) => {
        if (opcode === 0x8 && code === null) code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      });
      socket.on("data", reader);
      socket.once("close", () => {
        const told = String(code ?? "none");
        closeCodes[told] = (closeCodes[told] ?? 0) + 1;
      });
      socket.on("error", () => {});
      // Writes until the connection is dropped, whatever the server says.
      const pump = () => {
        while (current === socket && !socket.destroyed) {
          frames += 200;
          if (!socket.write(burst)) return void socket.once("drain", pump);
        }
      };
      pump();
    },
    off() {
      current?.destroy();
      current = null;
    },
  };
  emit({ ready: true });
  await finished;
  switchable.off();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const sockets = Object.values(closeCodes).reduce((sum, n) => sum + n, 0);
  emit({ frames, sockets, closeCodes });
}

/** A client's WebSocket text frame (masked, as every client frame must be) of a short text. */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  if (payload.length > 125) throw new Error("a short text only");
  const mask = randomBytes(4);
  return Buffer.concat([
    Buffer.from([0x81, 0x80 | payload.length]),
    mask,
    payload.map((byte, i) => byte ^ mask[i % 4]!),
  ]);
}

/** Parses the server's side of an upgraded connection (the HTTP answer, then frames), calling `onFrame` per frame. */
function serverFrames(onFrame: (opcode: number, payload: Buffer) => void): (chunk: Buffer) => void {
  let buffered = Buffer.alloc(0);
  let upgraded = false;
  return (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    if (!upgraded) {
      const end = buffered.indexOf("\r\n\r\n");
      if (end < 0) return;
      upgraded = true;
      buffered = buffered.subarray(end + 4);
    }
    for (;;) {
      if (buffered.length < 2) return;
      let length = buffered[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffered.length < 4) return;
        length = buffered.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffered.length < 10) return;
        length = Number(buffered.readBigUInt64BE(2));
        offset = 10;
      }
      if (buffered.length < offset + length) return;
      onFrame(buffered[0]! & 0x0f, buffered.subarray(offset, offset + length));
      buffered = buffered.subarray(offset + length);
    }
  };
}

/**
 * Readers that poll the seat map as an open page would: once a second each, with If-None-Match
 * and Accept-Encoding: gzip, so a reader gets the full map (compressed) whenever it changed and a
 * 304 otherwise. Like browsers on other machines, they would decode what they get; this machine
 * only counts the bytes. Each reader keeps its own second's slot, spread over the second as
 * readers arriving at random would be; while the crowd is off, slots pass without a poll, so
 * switching it on brings back the same steady rate, not a burst.
 */
async function readers(): Promise<void> {
  const client = new Client(url!, count, { decode: false });
  await client.warm(Math.min(count, 200));
  let active = false;
  let stop = false;
  let full = 0;
  let notModified = 0;
  let failed = 0;
  let bytes = 0;
  const path = `/api/shows/${encodeURIComponent(showId!)}/seats`;
  const started = performance.now();
  const loops = Array.from({ length: count }, async (_, i) => {
    let due = started + (i / count) * 1000;
    let etag = "";
    while (!stop) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
      if (stop) break;
      // The next slot is a second after this one, or a second after a poll that took longer.
      due += 1000;
      if (!active) continue;
      const sample = await client.send("GET", path, undefined, etag ? { "if-none-match": etag } : {});
      if (sample.status === 200) {
        full++;
        bytes += sample.bytes ?? 0;
        etag = sample.etag ?? "";
      } else if (sample.status === 304) notModified++;
      else failed++;
      due = Math.max(due, performance.now());
    }
  });
  /** How long the crowd has been on, in ms, over its turns (`onSince` while it is). */
  let onMs = 0;
  let onSince = 0;
  switchable = {
    on() {
      if (!active) onSince = performance.now();
      active = true;
    },
    off() {
      if (active) onMs += performance.now() - onSince;
      active = false;
    },
  };
  emit({ ready: true });
  await finished;
  switchable.off();
  stop = true;
  await Promise.all(loops);
  await client.close();
  emit({ full, notModified, failed, bytes, onMs });
}

const scenarios = { watchers, attacker, hostile, readers };
await scenarios[mode as keyof typeof scenarios]();
process.exit(0);
