import { DurableObject } from "cloudflare:workers";
import { positiveInteger } from "../config";
import { LiveQuery } from "../contract/requests";
import { clientKey } from "../http/client";
import { failureToHttp, objectBusy, showBusy } from "../http/failures";
import { errorResponse, HttpError } from "../http/responses";
import { parseBody } from "../http/validation";
import type { Failure } from "../show/types";
import { MessageBudget } from "./budget";
import { ReadingWatchers } from "./reading";
import {
  MAX_CATCH_UP,
  parseClientMessage,
  PING,
  PONG,
  STATUS_CODES,
  type ChangesMessage,
  type LayoutMessage,
  type Position,
  type SeatEvent,
} from "./protocol";

/**
 * The header a full relay's 503 carries, so the Worker offers the watcher to the next relay; a 503
 * without it (the show too busy to be read) is the answer, since every relay would ask that show.
 */
export const RELAY_FULL = "x-relay-full";

/** The relays of one show are named `<show_id>#<n>`. */
export function relayName(showId: string, n: number): string {
  return `${showId}#${n}`;
}

/** The most relays a show may have: the show sends each of them every batch. */
const MAX_RELAYS = 64;
/** The most watchers a relay may hold: it sends every batch to each of them. */
const MAX_WATCHERS_PER_RELAY = 10_000;

export function relaysPerShow(env: Env): number {
  return positiveInteger(env.LIVE_RELAYS, 8, MAX_RELAYS);
}

function watchersPerRelay(env: Env): number {
  return positiveInteger(env.LIVE_WATCHERS_PER_RELAY, 1000, MAX_WATCHERS_PER_RELAY);
}

/**
 * Sockets one client address may hold on one relay (LIVE_WATCHERS_PER_ADDRESS), or Infinity when
 * limits per address are off (RATE_LIMITING = "off": local servers and the benchmark, whose
 * traffic all comes from one address). Hibernated sockets cost their holder nothing, so without
 * this one address could take every watcher's place in a show.
 */
function watchersPerAddress(env: Env): number {
  return env.RATE_LIMITING === "off"
    ? Infinity
    : positiveInteger(env.LIVE_WATCHERS_PER_ADDRESS, 25, MAX_WATCHERS_PER_RELAY);
}

/** The tag a watcher's socket carries: the address it came from, so the relay can count them. */
function addressTag(request: Request): string {
  return `address:${clientKey(request)}`;
}

/** What a relay knows of its show: the layout, every seat's status, and the latest changes. */
interface View {
  layout: number;
  version: number;
  layoutJson: string;
  statuses: string[];
  /** The latest changes, oldest first, for clients that reconnect or resync. */
  recent: SeatEvent[];
  snapshotJson: string | null;
}

/**
 * Holds live seat-map sockets for one show, so the show's object never does. Watchers are spread
 * over a few relays per show; each relay subscribes to the show once, keeps what it learns (the
 * layout, a snapshot, the latest changes), greets and resyncs its watchers from that, and passes
 * each batch of changes from the show to all of them in one message. Sockets are accepted through
 * the Hibernation API, so an idle relay costs nothing; a relay that wakes without its view asks
 * the show again when it next needs it.
 */
export class LiveRelay extends DurableObject<Env> {
  /** Sockets one client address may hold here (see `watchersPerAddress`). Tests replace it. */
  addressLimit: number;
  private view: View | null = null;
  private loading: Promise<View | Failure> | null = null;
  /** Counts the times the view was dropped, so that a read of the show begun before is not installed. */
  private generation = 0;
  /** The newest batch the show sent this relay: a read of the show asked for before it and older than it is read again. */
  private newest = { layout: 0, version: 0 };
  /** The subscription the show last answered with, which an unsubscribe names (see `LiveFeed.leave`). */
  private subscription: string | null = null;
  private readonly budgets = new WeakMap<WebSocket, MessageBudget>();
  /** Watchers being let in: their sockets are not accepted yet, but the relay is not empty. */
  private admitting = 0;
  /** Sockets closed for spending past their budget: what they still send is dropped unread. */
  private readonly silenced = new WeakSet<WebSocket>();
  /** Whether each watcher reads what it is sent; every send to a watcher goes through it. Tests shrink its limits. */
  readonly reading = new ReadingWatchers();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.addressLimit = watchersPerAddress(env);
    // Answered by the runtime itself: a keep-alive never wakes the relay nor spends a budget.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  private get name(): string {
    return this.ctx.id.name!;
  }

  private get showId(): string {
    return this.name.slice(0, this.name.lastIndexOf("#"));
  }

  private show() {
    return this.env.SHOW.getByName(this.showId);
  }

  /** A watcher connects: the layout, then a snapshot or just what it missed. */
  override async fetch(request: Request): Promise<Response> {
    try {
      const { since, layout } = parseBody(LiveQuery, Object.fromEntries(new URL(request.url).searchParams));
      const address = addressTag(request);
      this.refuseWhenFull(address);
      // Counted from here, so that neither a closing watcher nor the show takes this relay for
      // empty while the view loads.
      this.admitting++;
      let view: View | Failure;
      try {
        view = await this.ensureView();
      } catch (error) {
        // A show too busy to be read: 503, as on every route.
        throw objectBusy(error) ? showBusy(this.showId) : error;
      } finally {
        this.admitting--;
      }
      if ("reason" in view) throw failureToHttp(view, { showId: this.showId });
      // Others may have come in while the view loaded; from here to the accept there is no await.
      this.refuseWhenFull(address);
      const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
      this.ctx.acceptWebSocket(server, [address]);
      const position = since === undefined || layout === undefined ? null : { since, layout };
      this.reading.sendView(server, [view.layoutJson, this.catchUp(view, position)]);
      return new Response(null, { status: 101, webSocket: client });
    } catch (error) {
      if (error instanceof HttpError) return errorResponse(error);
      throw error;
    }
  }

  /** A batch of changes from the show: passed to every watcher as one message. Returns how many there are. */
  publish(batch: ChangesMessage): number {
    // Noted first: a read of the show under way for a watcher being let in may predate this batch.
    this.saw(batch);
    const sockets = this.ctx.getWebSockets();
    if (sockets.length === 0) return this.forgottenUnlessAdmitting();
    const text = JSON.stringify(batch);
    for (const socket of sockets) this.reading.send(socket, text);
    this.absorb(batch);
    return sockets.length;
  }

  /**
   * The show's layout changed, or it restarted with a change it may not have sent, or a delivery
   * failed, or more changes came at once than a batch carries: the relay reads the show again,
   * and every watcher gets the layout and a snapshot. (Whether a
   * watcher has what was read cannot be told: one greeted or resynced from a read has it, the
   * others only what they were passed.)
   */
  async reset(): Promise<number> {
    this.forgetView();
    const sockets = this.ctx.getWebSockets();
    if (sockets.length === 0) return this.forgottenUnlessAdmitting();
    const view = await this.ensureView();
    if ("reason" in view) return 0;
    const snapshot = this.snapshot(view);
    for (const socket of sockets) {
      this.reading.send(socket, view.layoutJson);
      this.reading.send(socket, snapshot);
    }
    return sockets.length;
  }

  /**
   * A watcher answers an echo, or asks to resync; a watcher past its budget is told so and closed
   * with 1008. The frame is parsed before the budget is spent, so that an echo the relay asked for
   * costs the watcher nothing (one answer per echo can be right); a socket past its budget is
   * closed at once, and what it sends after is dropped unread, so no flood is parsed.
   */
  override async webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (this.silenced.has(socket)) return;
    const parsed = parseClientMessage(message);
    const answer = "error" in parsed || parsed.type !== "echo" ? null : this.reading.echoed(socket, parsed.nonce);
    if (answer === "read") return;
    if (answer === "read, stale") return this.sendView(socket);
    let budget = this.budgets.get(socket);
    if (budget === undefined) this.budgets.set(socket, (budget = new MessageBudget(Date.now())));
    if (!budget.spend(Date.now())) {
      this.silenced.add(socket);
      this.reading.send(socket, JSON.stringify({ type: "error", error: "Too many messages; this socket is closed" }));
      socket.close(1008, "too many messages");
      return;
    }
    if ("error" in parsed) {
      this.reading.send(socket, JSON.stringify({ type: "error", error: parsed.error }));
      // The runtime has read a frame of any size (up to its own 32 MiB) before the relay sees it:
      // a client that sends binary or oversized frames is closed at the first, not served again.
      if ("close" in parsed) {
        this.silenced.add(socket);
        socket.close(parsed.close, parsed.error);
      }
      return;
    }
    if (parsed.type === "echo") {
      return this.reading.send(socket, JSON.stringify({ type: "error", error: "No echo with this nonce is owed" }));
    }
    // What a watcher that does not read asks for must not pile up: it answers its echo first.
    if (this.reading.owesEcho(socket)) {
      const refusal = { type: "error", error: "Answer the echo first, then resync", reason: "echo_owed" };
      return this.reading.send(socket, JSON.stringify(refusal));
    }
    let view: View | Failure;
    try {
      view = await this.ensureView();
    } catch (error) {
      // The show too busy to be read (or unreachable): an unanswered resync would leave the page
      // behind for good, so it is closed with 1013, and reconnects (with `since`) after a pause.
      console.error(JSON.stringify({ message: "live: resync not answered", relay: this.name, error: String(error) }));
      return socket.close(1013, "try again later");
    }
    if ("reason" in view) return socket.close(1011, "the show is gone");
    if (parsed.layout !== view.layout) this.reading.send(socket, view.layoutJson);
    this.reading.send(socket, this.catchUp(view, parsed));
  }

  /**
   * A fresh view for a watcher that was sent nothing for a while (see `ReadingWatchers`): the
   * layout and a snapshot. When the show cannot be read just now, the watcher is held back again
   * and asked for another echo: its answer brings the next try.
   */
  private async sendView(socket: WebSocket): Promise<void> {
    let view: View | Failure;
    try {
      view = await this.ensureView();
    } catch (error) {
      console.error(
        JSON.stringify({ message: "live: no fresh view for a watcher", relay: this.name, error: String(error) }),
      );
      return this.reading.holdBack(socket);
    }
    if ("reason" in view) return socket.close(1011, "the show is gone");
    // Several answers may have waited on one read of the show: the first sends the view.
    this.reading.sendOwedView(socket, [view.layoutJson, this.snapshot(view)]);
  }

  override async webSocketClose(socket: WebSocket, code: number, _reason: string, _wasClean: boolean): Promise<void> {
    try {
      // 1005, 1006 and codes outside the ranges a server may send are answered with 1000.
      const sendable =
        (code >= 1000 && code <= 1014 && ![1004, 1005, 1006].includes(code)) || (code >= 3000 && code <= 4999);
      socket.close(sendable ? code : 1000, "closing");
    } catch {
      // Already closed.
    }
    const othersOpen = this.ctx
      .getWebSockets()
      .some((other) => other !== socket && other.readyState === WebSocket.OPEN);
    if (!othersOpen && this.admitting === 0) {
      const subscription = this.subscription;
      this.forgetView();
      this.subscription = null;
      // A relay that has hibernated since it subscribed knows no subscription to name: the show
      // forgets it when it answers 0 to the next batch or reset (an empty relay left listed costs a row).
      if (subscription !== null) await this.show().unsubscribe(this.name, subscription);
    }
  }

  /**
   * With no watchers, the relay answers 0 and the show forgets it, so its view stops being kept
   * current: drop it, so that the next watcher makes the relay subscribe again. (A watcher being
   * let in keeps the subscription.)
   */
  private forgottenUnlessAdmitting(): number {
    if (this.admitting === 0) this.forgetView();
    return this.admitting;
  }

  /** Drops the view, and any read of the show under way: it may predate what made the view stale. */
  private forgetView(): void {
    this.view = null;
    this.loading = null;
    this.generation++;
  }

  /** Refuses a watcher when the relay is full (503), or when its address holds its share already (429). */
  private refuseWhenFull(address: string): void {
    if (this.ctx.getWebSockets().length + this.admitting >= watchersPerRelay(this.env)) {
      const full = failureToHttp({ ok: false, reason: "too_many_watchers" }, { showId: this.showId });
      const headers = { ...(full.headers as Record<string, string>), [RELAY_FULL]: "1" };
      throw new HttpError(full.status, full.message, full.context, headers);
    }
    const limit = this.addressLimit;
    if (limit !== Infinity && this.ctx.getWebSockets(address).length >= limit) {
      throw failureToHttp({ ok: false, reason: "too_many_watchers_from_address", limit }, { showId: this.showId });
    }
  }

  /**
   * The relay's view of the show, fetched from the show once (however many ask at once). A read
   * that the view was dropped during is read again: its snapshot may be older than a reset.
   */
  private async ensureView(): Promise<View | Failure> {
    for (;;) {
      if (this.view) return this.view;
      const generation = this.generation;
      const loading = (this.loading ??= this.read(generation).finally(() => {
        if (this.loading === loading) this.loading = null;
      }));
      const answer = await loading;
      if (generation === this.generation) return answer;
    }
  }

  /** Reads the show (subscribing), and installs what it reads unless the view was dropped meanwhile. */
  private async read(generation: number): Promise<View | Failure> {
    const asked = this.newest;
    const answer = await this.show().subscribe(this.name);
    if (!answer.ok) return answer;
    // Another subscribe may have been answered meanwhile; naming the older one, an unsubscribe
    // is refused (the show then forgets the relay when it answers 0), never wrongly taken.
    this.subscription = answer.subscription;
    const view = viewOf(answer.layout, answer.snapshot.version, answer.snapshot.statuses);
    // A batch newer than this snapshot reached the watchers while it was on its way (the show's
    // calls and its answers travel apart): installing it would undo that batch. (Only a batch that
    // came after the read was asked for can be newer than its answer; one that came before is in it.)
    const { layout, version } = this.newest;
    if (this.newest !== asked && view.layout === layout && view.version < version) this.generation++;
    else if (generation === this.generation) this.view = view;
    return view;
  }

  /** Notes a batch passed to the watchers, as `newest`. */
  private saw({ layout, version }: { layout: number; version: number }): void {
    const newest = this.newest;
    this.newest = { layout, version: layout === newest.layout ? Math.max(version, newest.version) : version };
  }

  /** Keeps the view current with a batch, or drops it when the batch does not follow on. */
  private absorb(batch: ChangesMessage): void {
    const view = this.view;
    if (view === null) return;
    if (batch.layout !== view.layout || batch.since > view.version) {
      this.forgetView();
      return;
    }
    for (const change of batch.changes) {
      if (change.version <= view.version) continue;
      if (change.place < view.statuses.length) view.statuses[change.place] = STATUS_CODES[change.status];
      view.recent.push(change);
    }
    if (view.recent.length > MAX_CATCH_UP) view.recent.splice(0, view.recent.length - MAX_CATCH_UP);
    view.version = Math.max(view.version, batch.version);
    view.snapshotJson = null;
  }

  /**
   * What a client at `position` needs: the changes since, or a snapshot when it is too far
   * behind. One that resyncs from another layout gets that layout first (see `webSocketMessage`).
   */
  private catchUp(view: View, position: Position | null): string {
    const oldest = view.recent[0]?.version ?? view.version + 1;
    if (
      position === null ||
      position.layout !== view.layout ||
      position.since > view.version ||
      (position.since < view.version && position.since + 1 < oldest)
    ) {
      return this.snapshot(view);
    }
    const changes = view.recent.filter((change) => change.version > position.since);
    const message: ChangesMessage = {
      type: "changes",
      layout: view.layout,
      since: position.since,
      version: view.version,
      changes,
    };
    return JSON.stringify(message);
  }

  private snapshot(view: View): string {
    view.snapshotJson ??= JSON.stringify({
      type: "snapshot",
      layout: view.layout,
      version: view.version,
      statuses: view.statuses.join(""),
    });
    return view.snapshotJson;
  }
}

function viewOf(layout: LayoutMessage, version: number, statuses: string): View {
  return {
    layout: layout.layout,
    version,
    layoutJson: JSON.stringify(layout),
    statuses: [...statuses],
    recent: [],
    snapshotJson: null,
  };
}
