/**
 * Starting and stopping `wrangler dev` from scripts and tests, always on the
 * Node that runs this script (Node 22 from the `node` devDependency).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The admin token `npm start` uses locally. Never the production one. */
export const DEV_ADMIN_TOKEN = "dev-admin-token";
/** The key `npm start` signs admission passes with: local only, never deployed. */
export const DEV_QUEUE_SECRET = "dev-queue-secret-local-only-0123456789";

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface DevServer {
  url: string;
  child: ChildProcess;
  /** Everything wrangler printed, for error messages. */
  output(): string;
  /** Signals wrangler (and, for scripted servers, the workerd it started) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface DevServerOptions {
  port: number;
  adminToken: string;
  /** Where local Durable Object storage lives; wrangler's default when absent. */
  persistTo?: string;
  /** "on" to rate-limit as production does; off by default for local use. */
  rateLimiting?: "on" | "off";
  /** Pass wrangler's output through to this process's terminal. */
  inheritOutput?: boolean;
  readyTimeoutMs?: number;
}

/** Asks the OS for a port nobody is listening on. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/**
 * Refuses a port something already listens on: wrangler would fail on it only after a while, and
 * until then whatever is there (an `npm start` left running, say) would answer as if it were ours.
 */
export async function requireFreePort(port: number): Promise<void> {
  // On both loopbacks: `localhost` may reach either, and a server on ::1 alone would answer the
  // browser that `npm start` sends to http://localhost.
  for (const host of ["127.0.0.1", "::1"]) {
    await new Promise<void>((resolve, reject) => {
      const server = createServer();
      server.once("error", (error: NodeJS.ErrnoException) => {
        if (error.code === "EADDRINUSE") {
          reject(
            new Error(`Port ${port} is in use (by an npm start left running?): stop that, or set PORT to another port`),
          );
        } else if (host === "::1" && (error.code === "EADDRNOTAVAIL" || error.code === "EAFNOSUPPORT")) {
          resolve(); // a machine without IPv6
        } else {
          reject(error);
        }
      });
      server.listen(port, host, () => server.close(() => resolve()));
    });
  }
}

/** wrangler's CLI script, to run on this process's Node. */
export function wranglerBin(): string {
  return join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin", "wrangler.js");
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  await requireFreePort(options.port);
  const args = [
    wranglerBin(),
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(options.port),
    "--inspector-port",
    String(await freePort()),
    "--show-interactive-dev-session=false",
    "--var",
    `ADMIN_TOKEN:${options.adminToken}`,
    // Signs waiting-room passes; a local-only key, like the admin token (production: wrangler secret put).
    "--var",
    `QUEUE_SECRET:${DEV_QUEUE_SECRET}`,
    // All local traffic comes from one address, and the concurrency tester is a burst by design.
    "--var",
    `RATE_LIMITING:${options.rateLimiting ?? "off"}`,
  ];
  if (options.persistTo) args.push("--persist-to", options.persistTo);

  // Scripted servers get a process group of their own, so stopping (or crashing) one takes
  // workerd down with wrangler instead of leaving it orphaned. `npm start` stays in the terminal's.
  const ownGroup = !options.inheritOutput;
  const child = spawn(process.execPath, args, {
    cwd: PROJECT_ROOT,
    detached: ownGroup,
    stdio: ["ignore", options.inheritOutput ? "inherit" : "pipe", options.inheritOutput ? "inherit" : "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: process.env.CI ?? "" },
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));

  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${options.port}`;
  const server: DevServer = {
    url,
    child,
    output: () => output,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) {
        if (ownGroup && child.pid !== undefined) process.kill(-child.pid, signal);
        else child.kill(signal);
      }
      await exited;
    },
  };

  try {
    await waitForServer(url, options.readyTimeoutMs ?? 60_000, () => child.exitCode !== null);
  } catch (error) {
    await server.stop("SIGKILL");
    throw new Error(`wrangler dev did not start: ${(error as Error).message}\n${output}`);
  }
  return server;
}

/** Polls `/healthz` until the Worker answers. */
export async function waitForServer(
  url: string,
  timeoutMs: number,
  gaveUp: () => boolean = () => false,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gaveUp()) throw new Error("the server process exited");
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`no answer from ${url} within ${timeoutMs} ms`);
}
