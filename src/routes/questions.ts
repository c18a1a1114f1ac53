import { HttpError } from "../http/responses";

/**
 * How long a request waits on another request's question before it asks for itself: a question
 * belongs to the request that asked it, and may never be answered if that request is cancelled.
 */
const SHARED_QUESTION_WAIT_MS = 2000;

/** How many waits a request spends on other requests' questions or reads before it asks for itself. */
const MAX_ROUNDS = 3;

/** No answer to share: the waiter asks for itself. */
export const NONE = Symbol("none");

/**
 * Waits on other requests' answers to one question, at most `waitMs`: the first answer; an
 * HttpError (a busy object's 503, a show that does not exist) thrown as every waiter's, since it
 * is the object's answer and asking again would only add to its load (no shared question or read
 * carries a refusal of one request's own: those are made before it, see `sharedCopy`); or `NONE`
 * when none came in time, or every one failed otherwise (its request was cancelled, say: one such
 * drops out of the race), for the waiter to look for a newer question or ask for itself.
 */
async function waitShared<A>(answers: Promise<A>[], waitMs = SHARED_QUESTION_WAIT_MS): Promise<A | typeof NONE> {
  let bound: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<typeof NONE>((resolve) => (bound = setTimeout(() => resolve(NONE), waitMs)));
  // Once every answer has failed (none with an HttpError), there is nothing left to wait for.
  let failed = 0;
  let gaveUp!: (none: typeof NONE) => void;
  const allFailed = new Promise<typeof NONE>((resolve) => (gaveUp = resolve));
  const raced = answers.map((answer) =>
    answer.catch((error: unknown): Promise<A> => {
      if (error instanceof HttpError) throw error;
      if (++failed === answers.length) gaveUp(NONE);
      return new Promise<A>(() => {});
    }),
  );
  try {
    return await Promise.race([...raced, timeout, allFailed]);
  } finally {
    clearTimeout(bound);
  }
}

/**
 * Answers in flight in an isolate, by key, each with when it was asked: a request that needs one
 * joins it (`join`) rather than ask again (`ask`).
 */
export class InFlight<A> {
  private readonly pending = new Map<string, { answer: Promise<A>; askedAt: number }>();

  /**
   * Null when no answer in flight under `key` may be joined (`joinable`, given when it was asked):
   * known at once, so that a request that finds none asks in the same turn, and the requests after
   * it join its question. Else waits on it (see `waitShared`); when none came in time, the first
   * waiter to see that asks again, and the others wait on both: an object slower than the wait
   * gets one more question per wait, not one per waiter. At most MAX_ROUNDS waits in all, however
   * many newer questions could still be joined. The first answer, or NONE.
   */
  join(key: string, joinable: (askedAt: number) => boolean, waitMs: number): Promise<A | typeof NONE> | null {
    const first = this.pending.get(key);
    if (first === undefined || !joinable(first.askedAt)) return null;
    return this.wait(key, joinable, waitMs);
  }

  private async wait(key: string, joinable: (askedAt: number) => boolean, waitMs: number): Promise<A | typeof NONE> {
    const heard: Promise<A>[] = [];
    while (heard.length < MAX_ROUNDS) {
      const pending = this.pending.get(key);
      if (pending === undefined || heard.includes(pending.answer) || !joinable(pending.askedAt)) break;
      heard.push(pending.answer);
      const answer = await waitShared(heard, waitMs);
      if (answer !== NONE) return answer;
    }
    return NONE;
  }

  /** Asks `question`, as the question in flight under `key` until it is answered. */
  async ask(key: string, question: () => Promise<A>): Promise<A> {
    const asked = { answer: question(), askedAt: Date.now() };
    this.pending.set(key, asked);
    try {
      return await asked.answer;
    } finally {
      if (this.pending.get(key) === asked) this.pending.delete(key);
    }
  }
}

/**
 * Questions an isolate puts to one object (the catalog, a show's waiting room), one in flight per
 * key: the concurrent requests of an isolate that all need the same answer ask once, not each. A
 * request that finds a question in flight waits on it (see `InFlight.join`) and takes its answer
 * if `shareable` says so. A request joins no question asked more than `waitMs` before it came,
 * whose answer (a busy object's 503, say) may no longer hold.
 */
export class SharedQuestions<A> {
  private readonly questions = new InFlight<A>();

  constructor(
    private readonly shareable: (answer: A) => boolean = () => true,
    private readonly waitMs = SHARED_QUESTION_WAIT_MS,
  ) {}

  async ask(key: string, question: () => Promise<A>): Promise<A> {
    const arrived = Date.now();
    const joined = this.questions.join(key, (askedAt) => arrived - askedAt <= this.waitMs, this.waitMs);
    if (joined !== null) {
      const answer = await joined;
      if (answer !== NONE && this.shareable(answer)) return answer;
    }
    return this.questions.ask(key, question);
  }
}
