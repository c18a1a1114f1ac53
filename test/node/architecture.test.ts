/**
 * The layout the code promises (README, "Working on the code"): no import cycles in src/, the
 * contract knowing nothing of the handlers, and handlers that never parse their own input.
 */
import { statSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../scripts/lib/dev-server.ts";

const SRC = join(PROJECT_ROOT, "src");

async function sourceFiles(dir = SRC): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) =>
      entry.isDirectory()
        ? sourceFiles(join(dir, entry.name))
        : entry.name.endsWith(".ts")
          ? [join(dir, entry.name)]
          : [],
    ),
  );
  return nested.flat();
}

const isFile = (path: string) => statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;

/** Each file's relative imports (value and type imports alike), as paths relative to src/. */
async function importGraph(): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  for (const file of await sourceFiles()) {
    const text = await readFile(file, "utf8");
    const targets = [...text.matchAll(/^(?:import|export)[^;]*?from\s+"(\.[^"]+)"/gms)]
      .map(([, specifier]) => resolve(dirname(file), specifier!))
      .map((target) => relative(SRC, [target, `${target}.ts`, join(target, "index.ts")].find(isFile) ?? target));
    graph.set(relative(SRC, file), targets);
  }
  return graph;
}

function findCycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (node: string): string[] | null => {
    if (state.get(node) === "done") return null;
    if (state.get(node) === "visiting") return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, "visiting");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, "done");
    return null;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}

describe("the code's layout", () => {
  it("has no import cycle in src/, type-only imports included", async () => {
    const graph = await importGraph();
    expect(graph.size).toBeGreaterThan(20);
    expect(findCycle(graph)).toBeNull();
  });

  it("finds a cycle when there is one (the check itself works)", () => {
    const graph = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts"]],
    ]);
    expect(findCycle(graph)).toEqual(["a.ts", "b.ts", "c.ts", "a.ts"]);
  });

  it("keeps the contract free of handlers: nothing in src/contract/ imports src/routes/", async () => {
    const graph = await importGraph();
    const offending = [...graph].filter(
      ([file, targets]) => file.startsWith("contract/") && targets.some((t) => t.startsWith("routes/")),
    );
    expect(offending).toEqual([]);
  });

  it("leaves all input parsing to the router: no handler parses, authenticates or reads a key itself", async () => {
    const handlers = (await sourceFiles(join(SRC, "routes"))).filter((file) => !file.endsWith("router.ts"));
    expect(handlers.length).toBeGreaterThanOrEqual(5);
    for (const file of handlers) {
      const text = await readFile(file, "utf8");
      expect(text, relative(SRC, file)).not.toMatch(
        /parseBody|parsePathId|parsePathParam|requireBearer|requireAdmin|idempotencyKey\(|readJsonObject/,
      );
    }
  });

  it("keeps the Show object to its RPC surface and the orchestration of a change: under 400 lines", async () => {
    const lines = (await readFile(join(SRC, "show", "show.ts"), "utf8")).split("\n").length;
    expect(lines).toBeLessThan(400);
  });
});
