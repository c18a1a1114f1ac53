import { z } from "zod";
import { holdPolicy } from "../config";
import { ID_PATTERN } from "../ids";
import type { Route } from "../routes/table";
import * as answers from "./schemas";

/** The server the committed copy (openapi.json) names; a served document names its own origin. */
export const LOCAL_SERVER = "http://localhost:8787";

const STATUS_TEXT: Record<number, string> = {
  101: "Switching Protocols: the WebSocket is open",
  200: "OK",
  201: "Created",
  400: "Invalid input; the message names the field",
  401: "Missing or invalid token",
  403: "A token that does not grant access to this hold or booking",
  404: "No such show, seat, hold or booking",
  409: "Conflict: seats not available, or a hold already confirmed",
  410: "Gone: the hold expired or was released",
  413: "Body over 16 KiB",
  422: "Idempotency-Key reused with a different request",
  426: "A WebSocket route asked without 'Upgrade: websocket'",
  429: "Too many requests from this address; see Retry-After",
  500: "Unexpected failure; nothing internal is revealed",
  503: "The show's object is overloaded or unavailable; see Retry-After",
};

const PATH_PARAMS: Record<string, { pattern: string; description: string }> = {
  show_id: { pattern: ID_PATTERN.source, description: "A show id" },
  seat_id: { pattern: ID_PATTERN.source, description: "A seat id" },
  hold_id: {
    pattern: "^[A-Za-z0-9_-]{1,64}\\.[A-Za-z0-9_-]{22}$",
    description: "A hold id, as creating the hold returned it",
  },
  booking_id: {
    pattern: "^[A-Za-z0-9_-]{1,64}\\.[A-Za-z0-9_-]{22}$",
    description: "A booking id, as booking returned it",
  },
};

/** JSON Schema for a zod schema, without the `$schema` line OpenAPI does not want inside. */
function jsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<string, unknown>;
  return rest;
}

/**
 * The OpenAPI 3.1 document, built from the route table and from the same zod schemas that
 * validate each request and describe each answer.
 */
export function openApiDocument(routes: Route[], env: Parameters<typeof holdPolicy>[0], server = LOCAL_SERVER) {
  const policy = holdPolicy(env);
  const names = new Map<z.ZodType, string>(Object.entries(answers).map(([name, schema]) => [schema, name]));
  const paths: Record<string, Record<string, unknown>> = {};

  for (const route of routes) {
    const path = route.path.replace(/:(\w+)/g, "{$1}");
    const parameters: unknown[] = [...route.path.matchAll(/:(\w+)/g)].map(([, name]) => ({
      name,
      in: "path",
      required: true,
      description: PATH_PARAMS[name!]?.description,
      schema: { type: "string", pattern: PATH_PARAMS[name!]?.pattern },
    }));
    for (const [name, schema] of Object.entries(route.query?.shape ?? {})) {
      parameters.push({
        name,
        in: "query",
        required: false,
        description: schema.description,
        schema: jsonSchema(schema, "input"),
      });
    }
    if (route.idempotent) {
      parameters.push({
        name: "Idempotency-Key",
        in: "header",
        required: false,
        description: "Replays the first answer to the same key and body for 24 hours; another body gets 422",
        schema: { type: "string", pattern: "^[\\x21-\\x7e]{1,255}$" },
      });
    }
    const body = typeof route.body === "function" ? route.body(policy) : route.body;
    const responses = Object.fromEntries(
      Object.entries(route.responses).map(([status, schema]) => {
        const description = STATUS_TEXT[Number(status)] ?? "See the README";
        if (!schema) return [status, { description }];
        const name = names.get(schema);
        return [
          status,
          {
            description,
            content: {
              "application/json": {
                schema: name ? { $ref: `#/components/schemas/${name}` } : jsonSchema(schema, "output"),
              },
            },
          },
        ];
      }),
    );
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = {
      operationId: operationId(route),
      summary: route.summary,
      tags: [route.tag],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(body
        ? {
            requestBody: {
              required: !route.bodyOptional,
              content: { "application/json": { schema: jsonSchema(body, "input") } },
            },
          }
        : {}),
      ...(route.auth ? { security: SECURITY[route.auth] } : {}),
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
    },
    servers: [{ url: server }],
    tags: [
      { name: "Booking", description: "Booking and cancelling seats" },
      { name: "Holds", description: "Holding seats while a buyer pays" },
      { name: "Reading", description: "Shows and seat maps" },
      { name: "Admin", description: "Operator routes; need the admin token" },
      { name: "Service", description: "The service itself" },
    ],
    paths,
    components: {
      schemas: Object.fromEntries(
        Object.entries(answers).map(([name, schema]) => [name, jsonSchema(schema, "output")]),
      ),
      securitySchemes: {
        adminToken: { type: "http", scheme: "bearer", description: "ADMIN_TOKEN, a Worker secret" },
        holdToken: { type: "http", scheme: "bearer", description: "The hold_token returned when the hold was made" },
        bookingToken: { type: "http", scheme: "bearer", description: "The booking_token returned with the booking" },
      },
    },
  };
}

const SECURITY: Record<NonNullable<Route["auth"]>, unknown[]> = {
  admin: [{ adminToken: [] }],
  hold: [{ holdToken: [] }],
  "booking or admin": [{ bookingToken: [] }, { adminToken: [] }],
};

function operationId(route: Route): string {
  const words = route.path
    .replace(/:(\w+)/g, "by_$1")
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  return [route.method.toLowerCase(), ...words.map((w) => w[0]!.toUpperCase() + w.slice(1))].join("");
}
