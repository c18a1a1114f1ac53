/**
 * A lean HTTP client on undici's connection pool: keep-alive connections opened ahead of
 * time, and the latency of every request. The concurrency tester and the benchmark use it.
 */
import { performance } from "node:perf_hooks";
import { gunzipSync } from "node:zlib";
import { Pool } from "undici";

export interface Sample {
  status: number;
  ms: number;
  body: string;
  /** The answer's ETag, where it had one. */
  etag?: string;
  /** Bytes of body received, as sent (compressed, when it was). */
  bytes?: number;
}

/**
 * Asks for gzip, as browsers and most HTTP libraries do, and reads a gzip answer as text. With
 * `decode: false` a gzip body is counted but left undecoded (its `body` is empty): the bench's crowd
 * of readers stands for clients on other machines, whose decoding this machine should not pay for.
 */
export class Client {
  private readonly pool: Pool;
  private readonly decode: boolean;

  constructor(url: string, connections: number, { decode = true }: { decode?: boolean } = {}) {
    this.pool = new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 60_000, connect: { timeout: 30_000 } });
    this.decode = decode;
  }

  /** Never throws: a request that got no answer comes back with status 0 and the error as its body. */
  async send(
    method: "GET" | "POST" | "PUT" | "DELETE",
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Sample> {
    const started = performance.now();
    try {
      const response = await this.pool.request({
        method,
        path,
        headers: { "content-type": "application/json", "accept-encoding": "gzip", ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: 60_000,
        bodyTimeout: 60_000,
      });
      const raw = Buffer.from(await response.body.arrayBuffer());
      const zipped = response.headers["content-encoding"] === "gzip";
      const text = !zipped ? raw.toString("utf8") : this.decode ? gunzipSync(raw).toString("utf8") : "";
      const etag = response.headers.etag;
      return {
        status: response.statusCode,
        ms: performance.now() - started,
        body: text,
        bytes: raw.byteLength,
        ...(typeof etag === "string" ? { etag } : {}),
      };
    } catch (error) {
      return { status: 0, ms: performance.now() - started, body: String(error) };
    }
  }

  /** Opens `count` connections by sending that many cheap requests at once. */
  async warm(count: number): Promise<void> {
    const samples = await Promise.all(Array.from({ length: count }, () => this.send("GET", "/healthz")));
    const failed = samples.find((sample) => sample.status !== 200);
    if (failed) throw new Error(`warm-up failed: ${failed.status} ${failed.body.slice(0, 200)}`);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

export interface LatencyStats {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export function latencyStats(samples: Sample[]): LatencyStats {
  const sorted = samples.map((sample) => sample.ms).sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? 0 };
}

export function statusCounts(samples: Sample[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { status } of samples) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}
