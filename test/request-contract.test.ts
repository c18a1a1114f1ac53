/**
 * The request side of the contract: for every operation, the OpenAPI document (its path and
 * query parameters, its Idempotency-Key header, its body schema) accepts and refuses the same
 * sample inputs as the router does. The router "refuses" with 400; any other answer (200, 404 for
 * an unknown seat, 409, 426 for the WebSocket route asked without an upgrade…) means the input
 * passed validation.
 *
 * One difference is known and left out of the samples: JSON Schema's `uniqueItems` cannot know
 * that seat 10 and seat "10" are the same seat, which the router refuses to have listed twice.
 */
import { Validator } from "@cfworker/json-schema";
import { describe, expect, it } from "vitest";
import { adminHeaders, bearer, call, newShow } from "./helpers";

type Schema = Record<string, unknown>;
interface Parameter {
  name: string;
  in: "path" | "query" | "header";
  required: boolean;
  schema: Schema;
}
interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { required: boolean; content: { "application/json": { schema: Schema } } };
  security: Record<string, string[]>[];
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
}

/** One request's inputs. `body: undefined` sends none. */
interface Sample {
  label: string;
  params: Record<string, string>;
  query: Record<string, string>;
  headers: Record<string, string>;
  body?: unknown;
}

const doc = await (await call("/openapi.json")).json<Document>();
const SHOW = await newShow(20);
const REF = `${SHOW}.AAAAAAAAAAAAAAAAAAAAAA`;

const valid = (schema: Schema, value: unknown) =>
  new Validator(schema as never, "2020-12", false).validate(value).valid;

/** Values every body field is tried with, whatever it is. */
const FIELD_VALUES: unknown[] = [
  1,
  0,
  -1,
  1.5,
  2 ** 53,
  30,
  1800,
  1801,
  10_001,
  "A1",
  "10",
  "",
  "   ",
  " padded ",
  "bad id",
  "a".repeat(64),
  "a".repeat(65),
  "x".repeat(201),
  null,
  true,
  {},
  [],
  [1, 2],
  [1, 1],
  ["A1", "B2"],
  [0],
  ["bad id"],
  Array.from({ length: 101 }, (_, i) => i + 1),
];

const PATH_VALUES: Record<string, string[]> = {
  show_id: [SHOW, "A1", "a".repeat(64), "a".repeat(65), "bad id", "a.b", "ünï"],
  seat_id: ["1", "A1", "a".repeat(65), "bad id"],
  hold_id: [REF, "nope", `${SHOW}.short`, `bad id.AAAAAAAAAAAAAAAAAAAAAA`],
  booking_id: [REF, "nope", `${SHOW}.AAAA`],
  ticket_id: [
    `${SHOW}.0.AAAAAAAAAAAAAAAAAAAAAA`,
    "nope",
    `${SHOW}.AAAAAAAAAAAAAAAAAAAAAA`,
    `${SHOW}.123.AAAAAAAAAAAAAAAAAAAAAA`,
  ],
};

const QUERY_VALUES = ["0", "1", "500", "501", "-1", "007", "1.5", "1e2", "0x10", "abc", ""];

const KEY_VALUES = [
  "5f0c6a52-8d3e-4b1f-9a77-c2e4d8b91f30",
  "short",
  "x".repeat(16),
  "x".repeat(255),
  "x".repeat(256),
  "has space in it, sixteen+",
];

/** A request every check passes, from which each sample changes one thing. */
function baseline(path: string, operation: Operation): Sample {
  const params: Record<string, string> = {};
  for (const p of operation.parameters ?? []) if (p.in === "path") params[p.name] = PATH_VALUES[p.name]![0]!;
  const headers: Record<string, string> = { "content-type": "application/json" };
  const scheme = Object.keys(operation.security[0] ?? {})[0];
  if (scheme === "adminToken") Object.assign(headers, adminHeaders);
  if (scheme === "holdToken" || scheme === "bookingToken" || scheme === "ticketToken") {
    Object.assign(headers, bearer("tok_someone"));
  }
  const body = operation.requestBody ? validBody(path) : undefined;
  return { label: "the baseline", params, query: {}, headers, body };
}

function validBody(path: string): unknown {
  if (path === "/api/book-seat") return { show_id: SHOW, seat_id: 1 };
  if (path.endsWith("/seats/block")) return { seat_ids: [1], reason: "desk" };
  if (path === "/admin/shows/{show_id}") return { name: "Sampled", seats: 20 };
  if (path.endsWith("/waiting-room"))
    return { opens_at: "2026-12-01T10:00:00Z", admit_per_minute: 60, session_minutes: 10 };
  if (path.endsWith("/extend")) return {};
  return { seat_ids: [1] };
}

function samples(path: string, operation: Operation): Sample[] {
  const base = baseline(path, operation);
  const list: Sample[] = [base];
  for (const p of operation.parameters ?? []) {
    if (p.in === "path") {
      for (const value of PATH_VALUES[p.name]!) {
        list.push({
          ...base,
          label: `${p.name} = ${JSON.stringify(value)}`,
          params: { ...base.params, [p.name]: value },
        });
      }
    } else if (p.in === "query") {
      for (const value of QUERY_VALUES) {
        list.push({ ...base, label: `?${p.name}=${value}`, query: { [p.name]: value } });
      }
    } else {
      for (const value of KEY_VALUES) {
        list.push({ ...base, label: `${p.name}: ${value}`, headers: { ...base.headers, [p.name]: value } });
      }
    }
  }
  if (operation.requestBody) {
    const schema = operation.requestBody.content["application/json"].schema as { properties: Schema };
    const fields = Object.keys(schema.properties);
    for (const field of fields) {
      const others = base.body as Record<string, unknown>;
      list.push({
        ...base,
        label: `no ${field}`,
        body: Object.fromEntries(fields.filter((f) => f !== field && f in others).map((f) => [f, others[f]])),
      });
      for (const value of FIELD_VALUES) {
        list.push({
          ...base,
          label: `${field} = ${JSON.stringify(value).slice(0, 40)}`,
          body: { ...others, [field]: value },
        });
      }
    }
    list.push({ ...base, label: "an extra field", body: { ...(base.body as object), extra: 1 } });
    for (const body of [[], "text", null, 7]) list.push({ ...base, label: `body ${JSON.stringify(body)}`, body });
    list.push({ ...base, label: "no body", body: undefined });
  }
  return list;
}

/** Whether the document's request side accepts the sample, read as a client tool would send it. */
function documentAccepts(operation: Operation, sample: Sample): boolean {
  for (const p of operation.parameters ?? []) {
    const raw =
      p.in === "path" ? sample.params[p.name] : p.in === "query" ? sample.query[p.name] : sample.headers[p.name];
    if (raw === undefined) {
      if (p.required) return false;
      continue;
    }
    // A query value that spells an integer is that integer, as OpenAPI's form style reads it.
    const value = p.in === "query" && p.schema.type === "integer" && /^-?[0-9]+$/.test(raw) ? Number(raw) : raw;
    if (!valid(p.schema, value)) return false;
  }
  if (operation.requestBody) {
    if (sample.body === undefined) return !operation.requestBody.required;
    return valid(operation.requestBody.content["application/json"].schema, sample.body);
  }
  return true;
}

async function routerAccepts(
  method: string,
  path: string,
  sample: Sample,
): Promise<{ accepted: boolean; answer: string }> {
  const url = path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(sample.params[name]!));
  const query = new URLSearchParams(sample.query).toString();
  const response = await call(`${url}${query ? `?${query}` : ""}`, {
    method: method.toUpperCase(),
    headers: sample.headers,
    body: sample.body === undefined ? undefined : JSON.stringify(sample.body),
  });
  return { accepted: response.status !== 400, answer: `${response.status} ${await response.text()}` };
}

describe("the document's request side and the router agree on every sample", () => {
  const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
  );

  it("covers every operation", () => {
    expect(operations.length).toBeGreaterThanOrEqual(18);
  });

  it.each(operations.map((o) => [`${o.operation.operationId}: ${o.method.toUpperCase()} ${o.path}`, o] as const))(
    "%s",
    async (_, { path, method, operation }) => {
      const disagreements: string[] = [];
      let accepted = 0;
      let refused = 0;
      for (const sample of samples(path, operation)) {
        const expected = documentAccepts(operation, sample);
        const { accepted: actual, answer } = await routerAccepts(method, path, sample);
        if (actual !== expected) {
          disagreements.push(
            `${sample.label}: document ${expected ? "accepts" : "refuses"}, router answered ${answer}`,
          );
        }
        if (expected) accepted++;
        else refused++;
      }
      expect(disagreements).toEqual([]);
      // The baseline passes; an operation with any input to check also sees some refused.
      expect(accepted).toBeGreaterThan(0);
      if ((operation.parameters ?? []).length > 0 || operation.requestBody) expect(refused).toBeGreaterThan(0);
    },
  );
});
