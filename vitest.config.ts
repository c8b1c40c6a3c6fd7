import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url))
const module = (pkg: string, name: string) => fileURLToPath(new URL(`./packages/${pkg}/src/${name}.ts`, import.meta.url))

export default defineConfig({
  resolve: {
    alias: {
      "@assoc-etl/core": src("core"),
      "@assoc-etl/hubspot": src("hubspot"),
      "@assoc-etl/sink-ndjson": src("sink-ndjson"),
      "@assoc-etl/sink-parquet": src("sink-parquet"),
      "@assoc-etl/diff": src("diff"),
      // Before the package's own entry, which would take them for paths under its index: the modules the CLI
      // imports one by one, so that the AWS SDK loads only when a location is a bucket's.
      "@assoc-etl/bucket/BucketError": module("bucket", "BucketError"),
      "@assoc-etl/bucket/BucketUrl": module("bucket", "BucketUrl"),
      "@assoc-etl/bucket": src("bucket"),
      "@assoc-etl/simulator": src("simulator"),
      "@assoc-etl/cli": src("cli")
    }
  },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    globalSetup: ["test/e2e/globalSetup.ts"]
  }
})
