import { describe, expect, it } from "vitest";
import { MAX_CATCH_UP, type ChangesMessage, type SeatEvent } from "../src/live/protocol";
import { RelayOutbox, type Delivery } from "../src/show/outbox";

/** A turn of the event loop: what was sent or answered by then has been handled. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A relay that answers when the test says: each delivery waits for `answer()`. */
class SlowRelay {
  readonly received: Delivery[] = [];
  private answers: (() => void)[] = [];
  readonly outbox = new RelayOutbox(async (delivery) => {
    this.received.push(delivery);
    await new Promise<void>((resolve) => this.answers.push(resolve));
  });

  /** Answers the delivery in flight, and lets the outbox send what waits. */
  async answer(): Promise<void> {
    this.answers.shift()!();
    await settle();
  }
}

const change = (version: number): SeatEvent => ({ seat_id: version, place: version - 1, status: "booked", version });

/** The batch of the changes after `since` up to `version`, in layout `layout`. */
function batch(since: number, version: number, layout = 1): Delivery {
  const changes = Array.from({ length: version - since }, (_, i) => change(since + i + 1));
  const message: ChangesMessage = { type: "changes", layout, since, version, changes };
  return { kind: "batch", batch: message };
}

/** An outbox whose first delivery fails (the relay is unreachable) and the rest arrive. */
function failingOnce(): { sent: Delivery[]; outbox: RelayOutbox } {
  const sent: Delivery[] = [];
  const outbox = new RelayOutbox(async (delivery) => {
    sent.push(delivery);
    if (sent.length === 1) throw new Error("unreachable");
  });
  return { sent, outbox };
}

describe("RelayOutbox: what the show sends one relay", () => {
  it("sends one delivery at a time, and joins the batches made meanwhile into one", async () => {
    const relay = new SlowRelay();
    relay.outbox.push(batch(0, 1));
    relay.outbox.push(batch(1, 3));
    relay.outbox.push(batch(3, 4));
    relay.outbox.push(batch(4, 6));
    expect(relay.received).toEqual([batch(0, 1)]);
    await relay.answer();
    expect(relay.received).toEqual([batch(0, 1), batch(1, 6)]);
    await relay.answer();
    relay.outbox.push(batch(6, 7));
    expect(relay.received).toEqual([batch(0, 1), batch(1, 6), batch(6, 7)]);
  });

  it("a reset replaces what waits, and batches made after it wait behind it", async () => {
    const relay = new SlowRelay();
    relay.outbox.push(batch(0, 1));
    relay.outbox.push(batch(1, 2));
    relay.outbox.push({ kind: "reset" });
    relay.outbox.push(batch(2, 3, 2));
    relay.outbox.push(batch(3, 5, 2));
    await relay.answer();
    await relay.answer();
    expect(relay.received).toEqual([batch(0, 1), { kind: "reset" }, batch(2, 5, 2)]);
  });

  it("turns a waiting batch and one that does not follow on (another layout, or a gap) into a reset", async () => {
    for (const [waits, next] of [
      [batch(1, 2), batch(2, 3, 2)],
      [batch(1, 2), batch(5, 6)],
    ]) {
      const relay = new SlowRelay();
      relay.outbox.push(batch(0, 1));
      relay.outbox.push(waits!);
      relay.outbox.push(next!);
      await relay.answer();
      expect(relay.received).toEqual([batch(0, 1), { kind: "reset" }]);
    }
  });

  it("joins up to as many changes as a relay keeps, and turns more into a reset", async () => {
    const joined = new SlowRelay();
    joined.outbox.push(batch(0, 1));
    joined.outbox.push(batch(1, MAX_CATCH_UP));
    joined.outbox.push(batch(MAX_CATCH_UP, MAX_CATCH_UP + 1));
    await joined.answer();
    expect(joined.received).toEqual([batch(0, 1), batch(1, MAX_CATCH_UP + 1)]);

    const relay = new SlowRelay();
    relay.outbox.push(batch(0, 1));
    relay.outbox.push(batch(1, MAX_CATCH_UP + 1));
    relay.outbox.push(batch(MAX_CATCH_UP + 1, MAX_CATCH_UP + 2));
    relay.outbox.push(batch(MAX_CATCH_UP + 2, MAX_CATCH_UP + 3));
    await relay.answer();
    await relay.answer();
    expect(relay.received).toEqual([batch(0, 1), { kind: "reset" }, batch(MAX_CATCH_UP + 2, MAX_CATCH_UP + 3)]);
  });

  it("drops what waits when cleared, and still sends what comes after", async () => {
    const relay = new SlowRelay();
    relay.outbox.push(batch(0, 1));
    relay.outbox.push(batch(1, 2));
    relay.outbox.clear();
    await relay.answer();
    relay.outbox.push(batch(2, 3));
    expect(relay.received).toEqual([batch(0, 1), batch(2, 3)]);
  });

  it("after a failed reset, sends a reset again instead of the next batch", async () => {
    for (const batchWaits of [false, true]) {
      const { sent, outbox } = failingOnce();
      outbox.push({ kind: "reset" });
      if (batchWaits) outbox.push(batch(1, 2));
      await settle();
      if (!batchWaits) outbox.push(batch(1, 2));
      await settle();
      outbox.push(batch(2, 3));
      await settle();
      expect(sent).toEqual([{ kind: "reset" }, { kind: "reset" }, batch(2, 3)]);
    }
  });

  it("owes no reset for a relay forgotten while its reset was failing", async () => {
    const sent: Delivery[] = [];
    let fail: (error: Error) => void = () => {};
    const outbox = new RelayOutbox(async (delivery) => {
      sent.push(delivery);
      if (sent.length === 1) await new Promise<void>((_, reject) => (fail = reject));
    });
    outbox.push({ kind: "reset" });
    outbox.clear(); // the relay's last watcher left; it reads the show afresh when it subscribes again
    fail(new Error("unreachable"));
    await settle();
    outbox.push(batch(1, 2));
    await settle();
    expect(sent).toEqual([{ kind: "reset" }, batch(1, 2)]);
  });

  it("owes no reset once the relay is forgotten after its reset failed", async () => {
    const { sent, outbox } = failingOnce();
    outbox.push({ kind: "reset" });
    await settle();
    outbox.clear();
    outbox.push(batch(1, 2));
    await settle();
    expect(sent).toEqual([{ kind: "reset" }, batch(1, 2)]);
  });

  it("sends a reset in place of the next batch when a batch fails: the relay may have missed it", async () => {
    const { sent, outbox } = failingOnce();
    outbox.push(batch(0, 1));
    outbox.push(batch(1, 2));
    await settle();
    expect(sent).toEqual([batch(0, 1), { kind: "reset" }]);
    outbox.push(batch(2, 3));
    await settle();
    expect(sent).toEqual([batch(0, 1), { kind: "reset" }, batch(2, 3)]);
  });
});
