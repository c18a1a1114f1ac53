/**
 * openapi.json is a valid OpenAPI 3.1 document (what Postman and other tools import), every
 * $ref in it resolves, and every operation can be told apart by its operationId.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../scripts/lib/dev-server.ts";

describe("openapi.json", () => {
  it("is a valid OpenAPI 3.1 document whose references all resolve", async () => {
    const document = JSON.parse(await readFile(join(PROJECT_ROOT, "openapi.json"), "utf8")) as {
      openapi: string;
      paths: Record<string, Record<string, { operationId: string }>>;
    };
    const validator = new Validator();
    const result = await validator.validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    expect(() => validator.resolveRefs()).not.toThrow();

    const ids = Object.values(document.paths).flatMap((methods) => Object.values(methods).map((op) => op.operationId));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThanOrEqual(18);
  });

  it("passes Redocly's recommended lint rules with no error and no warning", async () => {
    const redocly = join(PROJECT_ROOT, "node_modules", ".bin", "redocly");
    const { stdout } = await promisify(execFile)(redocly, ["lint", "openapi.json", "--format=json"], {
      cwd: PROJECT_ROOT,
      // No telemetry and no update check: the lint must not reach for the network.
      env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
    }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? "" }));
    const report = JSON.parse(stdout) as {
      totals: Record<string, number>;
      problems: { ruleId: string; message: string }[];
    };
    expect(report.problems.map(({ ruleId, message }) => `${ruleId}: ${message}`)).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });
});
