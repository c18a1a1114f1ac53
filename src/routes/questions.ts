import { HttpError } from "../http/responses";

/**
 * How long a request waits on another request's question before it asks for itself: a question
 * belongs to the request that asked it, and may never be answered if that request is cancelled.
 */
const SHARED_QUESTION_WAIT_MS = 2000;

const NONE = Symbol("none");

/**
 * Questions an isolate puts to one object (the catalog, a show's waiting room), one in flight per
 * key: the concurrent requests of an isolate that all need the same answer ask once, not each. A
 * request that finds a question in flight waits on it (at most `waitMs`) and takes
 * its answer if `shareable` says so; else it asks for itself. An HttpError (a busy object's 503) is
 * every waiter's answer, since asking again would add to the load that caused it; any other
 * failure (the asking request was cancelled, say) is not.
 */
export class SharedQuestions<A> {
  private readonly asking = new Map<string, Promise<A>>();

  constructor(
    private readonly shareable: (answer: A) => boolean = () => true,
    private readonly waitMs = SHARED_QUESTION_WAIT_MS,
  ) {}

  async ask(key: string, question: () => Promise<A>): Promise<A> {
    const pending = this.asking.get(key);
    if (pending !== undefined) {
      const waited: Promise<A | typeof NONE> = pending.catch((error: unknown): typeof NONE => {
        if (error instanceof HttpError) throw error;
        return NONE;
      });
      let bound: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<typeof NONE>((resolve) => (bound = setTimeout(() => resolve(NONE), this.waitMs)));
      const answer: A | typeof NONE = await Promise.race([waited, timeout]);
      clearTimeout(bound);
      if (answer !== NONE && this.shareable(answer)) return answer;
    }
    const asked = question();
    this.asking.set(key, asked);
    try {
      return await asked;
    } finally {
      if (this.asking.get(key) === asked) this.asking.delete(key);
    }
  }
}
