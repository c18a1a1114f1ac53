import { describe, expect, it } from "vitest";
import { HttpError } from "../src/http/responses";
import { SharedQuestions } from "../src/routes/questions";

/** A question that counts how often it is asked and is answered when the test says. */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function asked<A>() {
  let count = 0;
  const answers: ((result: { answer: A } | { error: unknown }) => void)[] = [];
  const question = () => {
    count++;
    return new Promise<A>((resolve, reject) =>
      answers.push((result) => ("answer" in result ? resolve(result.answer) : reject(result.error))),
    );
  };
  return {
    question,
    count: () => count,
    answer: (k: number, result: { answer: A } | { error: unknown }) => answers[k]!(result),
  };
}

describe("questions shared by an isolate's concurrent requests", () => {
  it("are asked once for every request waiting on one, and again once answered", async () => {
    const questions = new SharedQuestions<string>();
    const { question, count, answer } = asked<string>();
    const waiting = Array.from({ length: 5 }, () => questions.ask("k", question));
    expect(count()).toBe(1);
    answer(0, { answer: "yes" });
    expect(await Promise.all(waiting)).toEqual(Array(5).fill("yes"));
    const later = questions.ask("k", question);
    expect(count()).toBe(2);
    answer(1, { answer: "later" });
    expect(await later).toBe("later");
  });

  it("share only the answers they may: a waiter on another answer asks for itself", async () => {
    const questions = new SharedQuestions<boolean>((yes) => yes);
    const { question, count, answer } = asked<boolean>();
    const first = questions.ask("k", question);
    const second = questions.ask("k", question);
    answer(0, { answer: false });
    expect(await first).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(count()).toBe(2);
    answer(1, { answer: true });
    expect(await second).toBe(true);
  });

  it("give an object's HttpError (a busy one's 503) to every waiter, but ask again after any other failure", async () => {
    const questions = new SharedQuestions<string>();
    const busy = asked<string>();
    const waiting = [questions.ask("k", busy.question), questions.ask("k", busy.question)];
    busy.answer(0, { error: new HttpError(503, "busy") });
    for (const result of await Promise.allSettled(waiting)) {
      expect(result).toMatchObject({ status: "rejected", reason: { status: 503 } });
    }
    expect(busy.count()).toBe(1);

    const cancelled = asked<string>();
    const first = questions.ask("j", cancelled.question);
    const second = questions.ask("j", cancelled.question);
    cancelled.answer(0, { error: new Error("The request was cancelled") });
    await expect(first).rejects.toThrow("cancelled");
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(cancelled.count()).toBe(2);
    cancelled.answer(1, { answer: "own" });
    expect(await second).toBe("own");
  });

  it("keep nobody waiting past their bound on a question that is never answered", async () => {
    const questions = new SharedQuestions<string>(undefined, 50);
    const { question, count, answer } = asked<string>();
    void questions.ask("k", question);
    const waiter = questions.ask("k", question);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(count()).toBe(2);
    answer(1, { answer: "own" });
    expect(await waiter).toBe("own");
  });

  it("ask one more question per wait of an object that does not answer, not one per waiter", async () => {
    const questions = new SharedQuestions<string>(undefined, 50);
    const { question, count } = asked<string>();
    void questions.ask("k", question);
    for (let i = 0; i < 10; i++) void questions.ask("k", question);
    // Two waits have run out: one question more after each, whoever noticed first.
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(count()).toBeLessThanOrEqual(3);
    expect(count()).toBeGreaterThanOrEqual(2);
  });

  it("join no question asked longer ago than the wait: a request after the object recovered is not given its old 503", async () => {
    const questions = new SharedQuestions<string>(undefined, 50);
    let refuse!: (error: unknown) => void;
    const old = new Promise<string>((_, reject) => (refuse = reject));
    const first = questions.ask("k", () => old).catch((error: unknown) => error);
    // Longer than the wait after it, the object has recovered; a new request asks for itself.
    await sleep(80);
    let asked = 0;
    const later = questions.ask("k", async () => {
      asked++;
      return "fresh";
    });
    await sleep(10);
    // The old question, sent while the object was overloaded, finally comes back with its 503.
    refuse(new HttpError(503, "busy"));
    expect(await first).toMatchObject({ status: 503 });
    await expect(later).resolves.toBe("fresh");
    expect(asked).toBe(1);
  });

  it("wait at most three waits on other requests' questions before asking, however many newer ones come", async () => {
    const questions = new SharedQuestions<string>(undefined, 200);
    const never = () => new Promise<string>(() => {});
    const at = (ms: number, then: () => void) => setTimeout(then, ms);
    void questions.ask("k", never);
    let mine = false;
    // The waiter comes at 20 ms; its waits run out at 220, 420 and 620 ms, each just after a
    // newcomer found the last question older than the wait and asked a new one (205, 410, 615 ms).
    at(20, () => void questions.ask("k", async () => ((mine = true), "own")));
    for (const ms of [205, 410, 615]) at(ms, () => void questions.ask("k", never));
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(mine).toBe(true);
  });
});
