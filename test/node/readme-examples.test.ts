/**
 * Runs every curl example in the README, in order, against a real `wrangler dev`
 * with a fresh demo show, and checks each answer's status against the `# NNN …`
 * comment under it. The README and the code cannot drift apart without this failing.
 */
import { execFile, spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { DEV_ADMIN_TOKEN, PROJECT_ROOT } from "../../scripts/lib/dev-server.ts";
import { useDevServer } from "./dev-server.ts";

const run = promisify(execFile);

// The examples are run as written, with curl (and bash), as a reader would.
const haveCurl = spawnSync("bash", ["-c", "command -v curl"]).status === 0;
if (!haveCurl) {
  if (process.env.CI) throw new Error("CI must run the README's curl examples, but there is no curl (or bash)");
  console.warn("Skipping the README's curl examples: no curl (apt-get install curl).");
}

interface Example {
  command: string;
  expectedStatus: number;
  line: number;
}

/** Every `curl` command in a ```sh block, with the status its comment promises. */
export function curlExamples(markdown: string): Example[] {
  const examples: Example[] = [];
  const lines = markdown.split("\n");
  let inShell = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith("```")) {
      inShell = !inShell && line.trim() === "```sh";
      continue;
    }
    if (!inShell || !line.startsWith("curl ")) continue;
    const start = i;
    let command = line;
    while (command.endsWith("\\")) command = `${command.slice(0, -1)} ${lines[++i]!.trim()}`;
    const status = /^# (\d{3}) /.exec(lines[i + 1] ?? "");
    if (!status) throw new Error(`README line ${start + 1}: a curl example without a '# <status> …' comment under it`);
    examples.push({ command, expectedStatus: Number(status[1]), line: start + 1 });
  }
  return examples;
}

const devServer = useDevServer(DEV_ADMIN_TOKEN);

describe.skipIf(!haveCurl)("the README's curl examples", () => {
  it("each answers with the status the README gives, in order, through wrangler dev", async () => {
    const examples = curlExamples(await readFile(join(PROJECT_ROOT, "README.md"), "utf8"));
    expect(examples.length).toBeGreaterThanOrEqual(20);
    const variables: Record<string, string> = {};
    const { host } = new URL(devServer().url);

    for (const example of examples) {
      const command = `${example.command.replaceAll("localhost:8787", host)} -s -w '\\n%{http_code}'`;
      const { stdout } = await run("bash", ["-c", command], { env: { ...process.env, ...variables } });
      const status = Number(stdout.slice(stdout.lastIndexOf("\n") + 1));
      const body = JSON.parse(stdout.slice(0, stdout.lastIndexOf("\n"))) as Record<string, unknown>;
      expect({ line: example.line, command: example.command, status, body }).toMatchObject({
        status: example.expectedStatus,
      });
      remember(body, variables);
    }
  });
});

/** Keeps the ids and tokens later examples refer to as $HOLD_ID, $HOLD_TOKEN, $BOOKING_ID and $BOOKING_TOKEN. */
function remember(body: Record<string, unknown>, variables: Record<string, string>): void {
  if (typeof body.hold_token === "string") {
    variables.HOLD_ID = String(body.hold_id);
    variables.HOLD_TOKEN = body.hold_token;
  }
  const booking = (body.booking ?? (body.bookings as unknown[] | undefined)?.[0]) as
    { id: string; booking_token: string } | undefined;
  if (booking) {
    variables.BOOKING_ID = booking.id;
    variables.BOOKING_TOKEN = booking.booking_token;
  }
}
