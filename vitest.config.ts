import { defineConfig } from "vitest/config";

// Tests import packages by name (their built dist), as a user would; `npm test` builds first.
export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts"],
    // Daemon tests start real processes; keep files in separate forks and give them time.
    pool: "forks",
    globalSetup: ["./vitest.global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
