import { publicId, type Id } from "../ids";
import { MAX_CATCH_UP, type ChangesMessage, type LayoutMessage, type SnapshotMessage } from "../live/protocol";
import { randomBase64Url } from "../random";
import { RelayOutbox, type Delivery } from "./outbox";
import * as q from "./queries";
import type { Result } from "./types";

/**
 * What a relay gets when it subscribes to a show's changes: the layout, a snapshot, and the
 * subscription's name, which its unsubscribe names (see `LiveFeed.leave`).
 */
export type SubscribeResult = Result<Subscribed>;

interface Subscribed {
  layout: LayoutMessage;
  snapshot: SnapshotMessage;
  subscription: string;
}

/** How long the feed gathers changes before it sends them, so that a burst goes out as one batch. */
export const BATCH_TICK_MS = 50;

/** What the feed needs from the show it reports on. */
export interface FeedHost {
  /** The layout message, built once per layout version. */
  layoutMessage(): LayoutMessage;
  /** Every seat's status as a snapshot at `version`, built once per version. */
  snapshotMessage(version: number): SnapshotMessage;
  layoutVersion(): number;
  /** A seat's number in plan order, or -1 when the layout no longer has it. */
  placeOf(seat: Id): number;
}

/** The relays' namespace: each answers a batch or a reset with how many watchers it still has (0: forget me). */
export interface Relays {
  getByName(name: string): {
    publish(batch: ChangesMessage): Promise<number>;
    reset(): Promise<number>;
  };
}

/**
 * The show's side of the live seat map. Watchers' sockets live in relay objects; the show keeps
 * only the list of relays that subscribed (durably, so that it survives an eviction), and sends
 * each one message per batch of committed changes: the changes of one call and of a short tick
 * go out together. However large the audience, the show talks to a bounded number of relays.
 */
export class LiveFeed {
  /** Batches flushed, messages sent to relays (batches and resets), and relays' subscribe calls, since the object started. */
  readonly counts = { batches: 0, relayMessages: 0, subscriptions: 0 };
  private relays: Set<string> | null = null;
  /** The last change sent to the relays. */
  private sent = 0;
  private tick: ReturnType<typeof setTimeout> | null = null;
  /**
   * Each relay's deliveries, in order, one in flight at a time (see RelayOutbox). One per relay
   * sent to since the object started: at most LIVE_RELAYS, the names the Worker gives relays.
   */
  private readonly outboxes = new Map<string, RelayOutbox>();
  /** How many times each relay has subscribed since the object started (see `send`). */
  private readonly subscriptions = new Map<string, number>();
  /** The last change noted as sent to every relay (see `resume`), as this object last wrote or read it. */
  private delivered: number | null = null;
  /** Names this object's subscriptions apart from those of its earlier runs (see `leave`). */
  private readonly run = randomBase64Url(6);

  constructor(
    private readonly sql: SqlStorage,
    private readonly host: FeedHost,
    private readonly relayStubs: Relays,
  ) {}

  /** The relays that listen, read once; from then on, batches start after the last change. */
  private get subscribers(): Set<string> {
    if (this.relays === null) {
      this.relays = new Set(q.relays(this.sql));
      this.sent = q.latestChange(this.sql);
    }
    return this.relays;
  }

  /**
   * After the object starts (a deploy, an eviction, a crash): changes committed before it stopped
   * may not have reached the relays (the tick had not sent them, they waited in an outbox, or a
   * delivery failed). The show notes, each time every relay has been sent everything, the last
   * change sent (`live_delivered`); when a change came after it, every relay reads the show again,
   * once, and sends its watchers the layout and a snapshot (one with none left answers 0 and is
   * forgotten). A show that was evicted idle has sent everything, and resets nobody.
   */
  resume(): void {
    if (this.subscribers.size === 0) return;
    this.delivered = q.liveDelivered(this.sql);
    if (this.delivered === null || this.delivered < this.sent) this.resetRelays();
  }

  /** Adds a relay and gives it what its watchers need first: the layout and a snapshot. */
  subscribe(relay: string): Subscribed {
    this.subscriptions.set(relay, (this.subscriptions.get(relay) ?? 0) + 1);
    this.counts.subscriptions++;
    if (!this.subscribers.has(relay)) {
      // With nobody listening, nothing was sent: batches start from now, and the first relay's
      // snapshot has everything so far.
      if (this.subscribers.size === 0) {
        this.sent = q.latestChange(this.sql);
        this.noteDelivered();
      }
      q.addRelay(this.sql, { relay });
      this.subscribers.add(relay);
    }
    const snapshot = this.host.snapshotMessage(q.latestChange(this.sql));
    return { layout: this.host.layoutMessage(), snapshot, subscription: this.subscriptionOf(relay) };
  }

  /**
   * A relay whose last watcher left stops listening, unless it has subscribed again since the
   * subscription it names: calls on different stubs are not ordered, so a relay's unsubscribe can
   * arrive after the subscribe its next watcher made. (A relay that names none, from code before
   * subscriptions were named, is taken at its word. One that names another run's is not: should it
   * still have no watchers, it answers 0 to the next batch or reset and is forgotten then.)
   */
  leave(relay: string, subscription: string | undefined): void {
    if (subscription === undefined || subscription === this.subscriptionOf(relay)) this.unsubscribe(relay);
  }

  private subscriptionOf(relay: string): string {
    return `${this.run}.${this.subscriptions.get(relay) ?? 0}`;
  }

  private unsubscribe(relay: string): void {
    q.removeRelay(this.sql, { relay });
    this.subscribers.delete(relay);
    this.outboxes.get(relay)?.clear();
  }

  /** Runs `work`; when relays listen, what it commits goes out with the next batch. */
  publishing<T>(work: () => T): T {
    if (this.subscribers.size === 0) return work();
    try {
      return work();
    } finally {
      this.tick ??= setTimeout(() => this.flush(), BATCH_TICK_MS);
    }
  }

  /**
   * After a layout change: every relay starts again from the new layout and a snapshot (replacing
   * what waits for it). The change is no seat's, so the mark of what was sent moves back with it
   * (in the same commit): a show that stops before every relay has taken the reset resets them at
   * its next start.
   */
  layoutChanged(): void {
    q.noteLiveDelivered(this.sql, { version: null });
    this.delivered = null;
    this.resetRelays();
  }

  /** Every relay reads the show again (layout and snapshot); batches go on from here. */
  private resetRelays(): void {
    this.sent = q.latestChange(this.sql);
    for (const relay of this.subscribers) this.deliver(relay, { kind: "reset" });
  }

  /**
   * Sends every relay the changes committed since the last batch, as one message; more than a
   * relay keeps for its watchers (MAX_CATCH_UP: a show reset, a large block) go out as a reset
   * instead, so no batch, and no message to a watcher, grows with the show.
   */
  private flush(): void {
    this.tick = null;
    const since = this.sent;
    const rows = q.changesSince(this.sql, { since, limit: MAX_CATCH_UP + 1 });
    // Nothing new (the tick of a read): what was sent before may now be all sent.
    if (rows.length === 0) return this.noteDelivered();
    if (rows.length > MAX_CATCH_UP) return this.resetRelays();
    const version = rows.at(-1)!.seq;
    this.sent = version;
    const batch: ChangesMessage = {
      type: "changes",
      layout: this.host.layoutVersion(),
      since,
      version,
      changes: rows.flatMap((row) => {
        const place = this.host.placeOf(row.seat_id);
        return place < 0 ? [] : [{ seat_id: publicId(row.seat_id), place, status: row.new_status, version: row.seq }];
      }),
    };
    this.counts.batches++;
    for (const relay of this.subscribers) this.deliver(relay, { kind: "batch", batch });
  }

  /** Sends a relay a batch or a reset, after the ones before it. */
  private deliver(relay: string, delivery: Delivery): void {
    let outbox = this.outboxes.get(relay);
    if (outbox === undefined) {
      outbox = new RelayOutbox(
        (next) => this.send(relay, next),
        () => this.noteDelivered(),
      );
      this.outboxes.set(relay, outbox);
    }
    outbox.push(delivery);
  }

  /**
   * Notes durably that every relay has been sent every change so far, when that is so: no batch
   * waits for the tick, and every outbox has sent what it had, without a failure it still owes a
   * reset for. Written once per round of deliveries at most, off any booking's path.
   */
  private noteDelivered(): void {
    if (this.tick !== null || ![...this.outboxes.values()].every((outbox) => outbox.idle)) return;
    if (this.delivered === this.sent) return;
    try {
      q.noteLiveDelivered(this.sql, { version: this.sent });
      this.delivered = this.sent;
    } catch (error) {
      // Unwritten, the mark stays behind: the next start resets the relays, which is safe.
      console.error(JSON.stringify({ message: "live: delivered mark not written", error: String(error) }));
    }
  }

  /**
   * Delivers one message. A relay that answers 0 has no watchers and is forgotten, unless it
   * subscribed again while the message was on its way (a new watcher came), answered or not.
   */
  private async send(relay: string, delivery: Delivery): Promise<void> {
    if (!this.subscribers.has(relay)) return;
    const subscribed = this.subscriptions.get(relay);
    this.counts.relayMessages++;
    try {
      const stub = this.relayStubs.getByName(relay);
      const watchers = delivery.kind === "reset" ? await stub.reset() : await stub.publish(delivery.batch);
      if (watchers === 0 && this.subscriptions.get(relay) === subscribed) this.unsubscribe(relay);
    } catch (error) {
      logFailure(relay, error);
      throw error; // the outbox decides what the relay gets next (see RelayOutbox)
    }
  }
}

function logFailure(relay: Id, error: unknown): void {
  console.error(JSON.stringify({ message: "live relay unreachable", relay, error: String(error) }));
}
