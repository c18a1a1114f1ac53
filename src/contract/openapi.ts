import { z } from "zod";
import { holdPolicy } from "../config";
import * as answers from "./answers";
import { acting, pathParamNames, type Auth, type Operation } from "./operation";
import { EVERY_ACTING_ROUTE, EVERY_ROUTE, MAX_URL_BYTES, OPERATIONS } from "./operations";
import { AdmissionPassHeader, IdempotencyKeyHeader, PATH_PARAMS } from "./requests";

const STATUS_TEXT: Record<string, string> = {
  101: "Switching Protocols: the WebSocket is open",
  200: "OK",
  201: "Created",
  304: "Not Modified: the If-None-Match header names the current ETag",
  400: "Invalid input; the message names the field",
  401: "Missing or invalid token; on every route, a credential in the query string (?token=, ?access_token=, ...)",
  403: "A token that does not grant access to this hold, booking or ticket; while the show's waiting room is on, no valid admission pass; or a change asked by a page of another site in its visitor's browser (Sec-Fetch-Site: cross-site, or a foreign Origin)",
  404: "No such show, seat, hold or booking",
  409: "Conflict: seats not available, no adjacent block left, or a hold already confirmed",
  410: "Gone: the hold expired or was released",
  413: "Body over 16 KiB (16 MiB for a show's layout)",
  414: `URL over ${MAX_URL_BYTES} bytes`,
  422: "Idempotency-Key reused with a different request",
  426: "A WebSocket route asked without 'Upgrade: websocket'",
  429: "Too many requests from this address (see Retry-After); or, for a new hold, the address already holds as many of the show's seats as one address may at once",
  500: "Unexpected failure; nothing internal is revealed",
  503: "The show's object is overloaded or unavailable; see Retry-After. A change sent without an Idempotency-Key may or may not have been made when the object did not answer: the message says so, and there is no Retry-After then",
  507: "The show's storage is nearly full: it takes no new holds, no cancellations by booking token and no extensions of holds under a new Idempotency-Key (bookings still go through)",
  default: "Any other answer is a JSON error",
};

const SECURITY: Record<Auth, unknown[]> = {
  admin: [{ adminToken: [] }],
  hold: [{ holdToken: [] }],
  ticket: [{ ticketToken: [] }],
  "booking or admin": [{ bookingToken: [] }, { adminToken: [] }],
};

/** JSON Schema for a zod schema, without the `$schema` line OpenAPI does not want inside. */
function jsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<string, unknown>;
  return rest;
}

/**
 * The answers' schemas as components. Answers that nest another named answer (a booking inside
 * a confirmation) refer to it by `$ref` rather than repeating it.
 */
function components(): { names: Map<z.ZodType, string>; schemas: Record<string, unknown> } {
  const registry = z.registry<{ id: string }>();
  const names = new Map<z.ZodType, string>();
  for (const [name, schema] of Object.entries(answers)) {
    registry.add(schema, { id: name });
    names.set(schema, name);
  }
  const { schemas } = z.toJSONSchema(registry, {
    io: "output",
    unrepresentable: "any",
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Record<string, unknown>> };
  for (const schema of Object.values(schemas)) {
    delete schema.$schema;
    delete schema.$id;
  }
  return { names, schemas };
}

function parameters(route: Operation): unknown[] {
  const list: unknown[] = pathParamNames(route.path).map((name) => ({
    name,
    in: "path",
    required: true,
    description: PATH_PARAMS[name].about,
    schema: jsonSchema(PATH_PARAMS[name].schema, "input"),
  }));
  for (const [name, schema] of Object.entries(route.query?.shape ?? {})) {
    // A query value is text. Where the router reads it as a number, the document shows the number
    // it must spell (the schema's output); otherwise the text it must be (its input).
    const output = jsonSchema(schema, "output");
    list.push({
      name,
      in: "query",
      required: false,
      description: schema.description,
      schema: output.type === "integer" ? output : jsonSchema(schema, "input"),
    });
  }
  if (route.conditional) {
    list.push({
      name: "If-None-Match",
      in: "header",
      required: false,
      description: "The ETag of the copy the client has; answered 304 while it is current",
      schema: { type: "string" },
    });
  }
  if (route.admission) {
    list.push({
      name: "Admission-Pass",
      in: "header",
      required: false,
      description: AdmissionPassHeader.description,
      schema: jsonSchema(AdmissionPassHeader, "input"),
    });
  }
  if (route.idempotent) {
    list.push({
      name: "Idempotency-Key",
      in: "header",
      required: false,
      description: IdempotencyKeyHeader.description,
      schema: jsonSchema(IdempotencyKeyHeader, "input"),
    });
  }
  return list;
}

const header = (description: string, required = false) => ({ description, required, schema: { type: "string" } });

/** The headers an answer of `status` carries on `route` that a client acts on. */
function headersOf(route: Operation, status: string): Record<string, unknown> {
  const headers: Record<string, unknown> = {};
  if (status === "429") headers["Retry-After"] = header("Seconds to wait before asking again", true);
  if (status === "503") headers["Retry-After"] = header("Seconds to wait, when the request may be sent again");
  if (status === "401") headers["WWW-Authenticate"] = header("Bearer, when a token was wanted");
  if (route.conditional && (status === "200" || status === "304")) {
    headers.ETag = header("The layout version and the last change (weak when the answer was compressed)", true);
  }
  for (const [name, meaning] of Object.entries(route.sends?.[Number(status)] ?? {})) {
    headers[name] = header(meaning, true);
  }
  return headers;
}

/**
 * The OpenAPI 3.1 document, built from the operations' declarations: the same schemas that the
 * router validates each request with and that describe each answer. Its server is relative, so
 * it names whatever origin serves it and never echoes a client's `Host` header.
 */
export function openApiDocument(env: Parameters<typeof holdPolicy>[0]) {
  const policy = holdPolicy(env);
  const { names, schemas } = components();
  const paths: Record<string, Record<string, unknown>> = {};

  for (const [id, route] of Object.entries(OPERATIONS) as [string, Operation][]) {
    const body = typeof route.body === "function" ? route.body(policy) : route.body;
    const responses = Object.fromEntries(
      Object.entries({
        ...route.responses,
        ...EVERY_ROUTE,
        ...(acting(route) ? EVERY_ACTING_ROUTE : {}),
      }).map(([status, schema]) => {
        const description = route.means?.[Number(status)] ?? STATUS_TEXT[status] ?? "See the README";
        const headers = headersOf(route, status);
        const described = { description, ...(Object.keys(headers).length > 0 ? { headers } : {}) };
        if (!schema) return [status, described];
        const name = names.get(schema);
        const content = { schema: name ? { $ref: `#/components/schemas/${name}` } : jsonSchema(schema, "output") };
        return [status, { ...described, content: { "application/json": content } }];
      }),
    );
    const parameterList = parameters(route);
    paths[route.path.replace(/:(\w+)/g, "{$1}")] ??= {};
    paths[route.path.replace(/:(\w+)/g, "{$1}")]![route.method.toLowerCase()] = {
      operationId: id,
      summary: route.summary,
      tags: [route.tag],
      ...(parameterList.length > 0 ? { parameters: parameterList } : {}),
      ...(body
        ? {
            requestBody: {
              required: !route.bodyOptional,
              content: { "application/json": { schema: jsonSchema(body, "input") } },
            },
          }
        : {}),
      // Public operations say so: an empty list means "no token needed".
      security: route.auth ? SECURITY[route.auth] : [],
      responses,
    };
  }

  return {
    openapi: "3.1.0",
    info: {
      title: "Seat booking at the edge",
      version: "0.1.0",
      description:
        "Reserved-seat booking on Cloudflare Workers, one Durable Object per show. Every error is " +
        '{"error": "<message>", ...context}. Hold TTLs: ' +
        `${policy.minTtl}-${policy.maxTtl} s, ${policy.defaultTtl} s by default.`,
      license: { name: "Proprietary", identifier: "LicenseRef-Proprietary" },
    },
    servers: [{ url: "/", description: "The origin that serves this document" }],
    tags: [
      { name: "Booking", description: "Booking and cancelling seats" },
      { name: "Holds", description: "Holding seats while a buyer pays" },
      { name: "Reading", description: "Shows and seat maps" },
      { name: "Queue", description: "Waiting rooms: joining, waiting, admission passes" },
      { name: "Admin", description: "Operator routes; need the admin token" },
      { name: "Service", description: "The service itself" },
    ],
    paths,
    components: {
      schemas,
      securitySchemes: {
        adminToken: { type: "http", scheme: "bearer", description: "ADMIN_TOKEN, a Worker secret" },
        holdToken: { type: "http", scheme: "bearer", description: "The hold_token returned when the hold was made" },
        bookingToken: { type: "http", scheme: "bearer", description: "The booking_token returned with the booking" },
        ticketToken: { type: "http", scheme: "bearer", description: "The ticket_token returned on joining the queue" },
      },
    },
  };
}
