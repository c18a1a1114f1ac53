import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/** The admin token the in-runtime tests use. */
export const TEST_ADMIN_TOKEN = "test-admin-token";
/** The key the in-runtime tests sign admission passes with. */
export const TEST_QUEUE_SECRET = "test-queue-secret-0123456789abcdefghij";

export default defineConfig({
  test: {
    // The Worker logs a line per request; show a test's console output only when it fails.
    silent: "passed-only",
    projects: [
      {
        // Inside the Workers runtime (workerd via Miniflare): the Worker, its objects and their storage.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            // Every test request comes from one address; the rate-limit test turns limiting on itself.
            // Seat maps are read fresh, so that a test sees its own changes at once; the seat-map
            // cache test turns the copies on itself.
            miniflare: {
              bindings: {
                ADMIN_TOKEN: TEST_ADMIN_TOKEN,
                RATE_LIMITING: "off",
                LIVE_RELAYS: "2",
                LIVE_WATCHERS_PER_RELAY: "30",
                SEAT_MAP_MAX_AGE_SECONDS: "0",
                QUEUE_SECRET: TEST_QUEUE_SECRET,
                QUEUE_SHARDS: "1",
              },
            },
          }),
        ],
        test: { name: "workers", include: ["test/*.test.ts"] },
      },
      {
        // In Node: real `wrangler dev` processes and the scripts users run.
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
