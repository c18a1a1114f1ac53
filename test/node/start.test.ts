/** `npm start` (scripts/start.ts) when it cannot have its port. */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { expect, it } from "vitest";
import { PROJECT_ROOT, requireFreePort } from "../../scripts/lib/dev-server.ts";

it("stops with a message, and seeds nothing, when something already listens on its port", async () => {
  // Say an `npm start` left running: a server that answers every request as the Worker would.
  const seen: string[] = [];
  const other = createServer((request, response) => {
    seen.push(`${request.method} ${request.url}`);
    response.writeHead(request.method === "PUT" ? 201 : 200, { "content-type": "application/json" });
    response.end("{}");
  });
  await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
  const port = (other.address() as AddressInfo).port;
  const child = spawn(process.execPath, [join(PROJECT_ROOT, "scripts", "start.ts")], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  other.close();
  expect(code).toBe(1);
  expect(output).toContain(
    `Port ${port} is in use (by an npm start left running?): stop that, or set PORT to another port`,
  );
  expect(output).not.toContain("Seat booking is running");
  expect(seen).toEqual([]);
});

it("takes a port as in use when something listens on it on the IPv6 loopback alone", async (context) => {
  const other = createServer();
  const listening = await new Promise<boolean>((resolve) => {
    other.once("error", () => resolve(false));
    other.listen(0, "::1", () => resolve(true));
  });
  if (!listening) return context.skip(); // a machine without IPv6
  const port = (other.address() as AddressInfo).port;
  try {
    await expect(requireFreePort(port)).rejects.toThrow(`Port ${port} is in use`);
  } finally {
    other.close();
  }
});
