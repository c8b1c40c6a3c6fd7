/**
 * The benchmark entry: `node bench/dist/main.js [name...]` runs every
 * benchmark, or only the named ones, in the order listed here. A benchmark is
 * a module with `run(): Promise<void>` that prints its own table.
 */
interface Bench {
  readonly name: string
  readonly description: string
  readonly load: () => Promise<{ readonly run: () => Promise<void> }>
}

const benches: ReadonlyArray<Bench> = [
  {
    name: "sinks",
    description: "answers read from their bytes + NDJSON / Parquet part encoders to a file, against a plain Node loop that parses and stringifies",
    load: () => import("./sinks.js")
  },
  {
    name: "batchRead",
    description: "the batch-read stage against the simulator in its own process: requests, rolling-window use, wall time vs the ideal",
    load: () => import("./batchRead.js").then((m) => ({ run: () => m.run() }))
  },
  {
    name: "parquet",
    description: "issue 19: Parquet writers side by side (rows/s, peak RSS, size, DuckDB query times ÷ DuckDB's own " +
      "file), our encoder's event loop and memory at 10 M rows, the CLI's Parquet ÷ NDJSON wall time",
    load: () => import("./parquet.js")
  },
  {
    name: "versus",
    description: "assoc-etl's CLI export vs a script on @hubspot/api-client, same simulator and rate limit; scaling run",
    load: () => import("./versus.js")
  },
  {
    name: "adapt",
    description: "issue 15's adapt-to-the-server goals through the built CLI: a smaller batch limit, a lower server " +
      "rate limit, restarts, listing, heavy tails, resuming a large open part",
    load: () => import("./adapt.js")
  },
  {
    name: "memory",
    description: "issue 22: peak RSS and wall time through the built CLI when answers are heavy (480-600 " +
      "associations an id) at 10,000 and 100,000 ids, and when light, before and after the memory budget",
    load: () => import("./memory.js")
  },
  {
    name: "nightly",
    description: "issue 16's nightly job through the built CLI: a snapshot chained to the night before against a " +
      "full listing, and three pairs in one job against three processes",
    load: () => import("./nightly.js")
  },
  {
    name: "bucket",
    description: "issue 17: the same 100,000-contact export through the built CLI to a local directory and to a " +
      "bucket (s3rver on loopback), NDJSON and Parquet: wall time ratio (bucket ÷ local), peak RSS of each",
    load: () => import("./bucket.js")
  },
  {
    name: "fleet",
    description: "issue 18: one job of 12 portals (simulators, each its own token and limit) on a fleet of 1, 2 " +
      "and 3 workers on PostgreSQL, through the built CLI, at 5 and 20 requests a second a portal: wall time against " +
      "the limits' floor, rows/s a worker, speed-up, where CPU stops it",
    load: () => import("./fleet.js")
  },
  {
    name: "diff",
    description: "assoc-etl diff on two generated snapshots of 2.5M and 10M rows, ~2% changed, Parquet and NDJSON: " +
      "wall time, peak RSS, rows/s",
    load: () => import("./diff.js")
  }
]

const main = async () => {
  const names = process.argv.slice(2)
  const unknown = names.filter((n) => !benches.some((b) => b.name === n))
  if (unknown.length > 0) {
    console.error(`unknown benchmark(s): ${unknown.join(", ")}; known: ${benches.map((b) => b.name).join(", ")}`)
    process.exit(2)
  }
  const selected = names.length === 0 ? benches : benches.filter((b) => names.includes(b.name))
  for (const bench of selected) {
    console.log(`\n== ${bench.name}: ${bench.description}`)
    const started = performance.now()
    await (await bench.load()).run()
    console.log(`== ${bench.name} done in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
