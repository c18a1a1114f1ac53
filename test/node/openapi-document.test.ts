/**
 * openapi.json is a valid OpenAPI 3.1 document (what Postman and other tools import), every
 * $ref in it resolves, and every operation can be told apart by its operationId.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
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
});
