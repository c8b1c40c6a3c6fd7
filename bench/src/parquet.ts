/**
 * Issue 19's benchmark: Parquet that readers query fast, written at NDJSON speed. In one run:
 *
 * 1. writers side by side (`parquetWriters.ts`): hyparquet-writer, parquet-wasm + apache-arrow, DuckDB, on the
 *    same rows (the sinks bench's answers, read from their bytes), each in a fresh process: seconds, rows/s, peak
 *    RSS (VmHWM), file size, and DuckDB's query times on the file ÷ on DuckDB's own rewrite of the same rows.
 * 2. our encoder (`ParquetEncoder`, its worker) fed as the dataset feeds it, in a fresh process a size: the
 *    longest event-loop block while it encodes (`perf_hooks.monitorEventLoopDelay` and a 1 ms timer probe), peak
 *    RSS as rows grow, and at the largest size the four query ratios and the file size ÷ DuckDB's.
 * 3. the CLI against the simulator (versus.ts's machinery): Parquet wall time ÷ NDJSON wall time, alternated.
 *
 * Settings (environment): BENCH_PARQUET_WRITER_ROWS (1,000,000), BENCH_PARQUET_ROWS (comma list of sizes for 2,
 * default 1000000,3000000,10000000), BENCH_PARQUET_IDS (contacts for 3, default 100000; 0 skips it),
 * BENCH_PARQUET_RUNS (runs of each format in 3, default 3), BENCH_PARQUET_QUERY_RUNS (7).
 */
import type { RowBatch } from "@assoc-etl/core"
import { BatchReadAnswer } from "@assoc-etl/hubspot"
import { ParquetEncoder } from "@assoc-etl/sink-parquet"
import { DuckDBInstance } from "@duckdb/node-api"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { candidates, duckDbJournalSeconds } from "./parquetWriters.js"
import { makePool, pair } from "./sinks.js"
import * as Versus from "./versus.js"

const envInt = (name: string, fallback: number) => {
  const v = process.env[name]
  return v === undefined || v === "" ? fallback : Number.parseInt(v, 10)
}
const envList = (name: string, fallback: string) =>
  (process.env[name] ?? fallback).split(",").map(Number).filter((n) => n > 0)

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const fmtInt = (n: number) => Math.round(n).toLocaleString("en-US")
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1)

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")
  console.log(line(header))
  console.log(widths.map((w) => "-".repeat(w)).join("  "))
  for (const r of rows) console.log(line(r))
}

const vmHwmKb = (): number => {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync("/proc/self/status", "utf8"))
  return m ? Number(m[1]) : Number.NaN
}

/** The pool's answers read from their bytes once, as the stage hands them to a sink: the child then only encodes. */
const scannedPool = (): ReadonlyArray<{ readonly batch: RowBatch.RowBatch; readonly rows: number }> =>
  makePool(64).map((b) => {
    const answer = BatchReadAnswer.fromBody(b.body)
    if (answer === undefined) throw new Error("the byte scanner declined a pool answer")
    return { batch: answer.rows(pair, b.inputs), rows: b.rows }
  })

function* batches(rows: number): Generator<RowBatch.RowBatch> {
  const pool = scannedPool()
  for (let i = 0, produced = 0; produced < rows; i++) {
    const { batch } = pool[i % pool.length]!
    produced += batch.length
    yield batch
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Child modes: one writer or one encoder, one size, in a fresh process; a JSON line on stdout.

interface WriterResult {
  readonly rows: number
  readonly seconds: number
  readonly journalSeconds: number
  readonly bytes: number
  readonly hwmKb: number
}

const childWriter = async (index: number, rows: number, file: string) => {
  const candidate = candidates[index]!
  const all = [...batches(rows)]
  const started = performance.now()
  const writer = candidate.open(file)
  let count = 0
  for (const batch of all) {
    await writer.write(batch)
    count += batch.length
  }
  await writer.finish()
  const seconds = (performance.now() - started) / 1000
  const journalSeconds = candidate.name.startsWith("DuckDB") ? duckDbJournalSeconds.last : 0
  const result: WriterResult = { rows: count, seconds, journalSeconds, bytes: fs.statSync(file).size, hwmKb: vmHwmKb() }
  console.log(JSON.stringify(result))
}

import type { EncoderResult } from "./parquetEncoderChild.js"

const encoderChild = fileURLToPath(new URL("./parquetEncoderChild.js", import.meta.url))

const spawnChild = <A>(args: ReadonlyArray<string>, script = fileURLToPath(import.meta.url)): Promise<A> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.on("data", (d: Buffer) => (out += d.toString()))
    child.on("error", reject)
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`child ${args.join(" ")} exited with ${code}`))
      try {
        resolve(JSON.parse(out.trim().split("\n").at(-1)!) as A)
      } catch (e) {
        reject(e)
      }
    })
  })

// ---------------------------------------------------------------------------------------------------------------
// DuckDB as the reader: our file against DuckDB's own rewrite of the same rows.

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`

export const queries: ReadonlyArray<{ readonly name: string; readonly sql: (source: string, id: string) => string }> = [
  { name: "count(*)", sql: (s) => `SELECT count(*) FROM ${s}` },
  {
    name: "GROUP BY association_label",
    sql: (s) => `SELECT association_label, count(*) FROM ${s} GROUP BY association_label`
  },
  { name: "WHERE from_object_id = …", sql: (s, id) => `SELECT * FROM ${s} WHERE from_object_id = ${sqlString(id)}` },
  { name: "count(DISTINCT to_object_id)", sql: (s) => `SELECT count(DISTINCT to_object_id) FROM ${s}` }
]

export interface Reading {
  readonly ours: ReadonlyArray<number>
  readonly theirs: ReadonlyArray<number>
  readonly bytes: number
  readonly theirBytes: number
  readonly rowGroups: number
  readonly theirRowGroups: number
}

/**
 * DuckDB rewrites `file` with its own writer (its defaults: 122,880 rows a group, SNAPPY), then each query runs
 * `runs` times on each file, alternated, on one in-process DuckDB: medians, ms.
 */
export const readBoth = async (file: string, runs: number): Promise<Reading> => {
  const rewrite = `${file}.duckdb.parquet`
  const instance = await DuckDBInstance.create(":memory:")
  const connection = await instance.connect()
  try {
    await connection.run(
      `COPY (SELECT * FROM read_parquet(${sqlString(file)})) TO ${sqlString(rewrite)} (FORMAT parquet)`
    )
    const one = async (sql: string) => (await connection.runAndReadAll(sql)).getRowObjectsJS()[0]!
    const groups = async (f: string) =>
      Number((await one(`SELECT count(*)::INTEGER AS n FROM parquet_metadata(${sqlString(f)}) WHERE column_id = 0`))[
        "n"
      ])
    const total = Number((await one(`SELECT count(*)::INTEGER AS n FROM read_parquet(${sqlString(file)})`))["n"])
    const id = String(
      (await connection.runAndReadAll(
        `SELECT from_object_id FROM read_parquet(${sqlString(file)}) LIMIT 1 OFFSET ${Math.floor(total / 2)}`
      )).getRowObjectsJS()[0]!["from_object_id"]
    )
    const time = async (sql: string) => {
      const t0 = performance.now()
      await connection.runAndReadAll(sql)
      return performance.now() - t0
    }
    const ours: Array<number> = []
    const theirs: Array<number> = []
    for (const q of queries) {
      const a: Array<number> = []
      const b: Array<number> = []
      // One warm-up each: the files' pages in the OS cache for both.
      await time(q.sql(`read_parquet(${sqlString(file)})`, id))
      await time(q.sql(`read_parquet(${sqlString(rewrite)})`, id))
      for (let r = 0; r < runs; r++) {
        a.push(await time(q.sql(`read_parquet(${sqlString(file)})`, id)))
        b.push(await time(q.sql(`read_parquet(${sqlString(rewrite)})`, id)))
      }
      ours.push(median(a))
      theirs.push(median(b))
    }
    return {
      ours,
      theirs,
      bytes: fs.statSync(file).size,
      theirBytes: fs.statSync(rewrite).size,
      rowGroups: await groups(file),
      theirRowGroups: await groups(rewrite)
    }
  } finally {
    connection.closeSync()
    instance.closeSync()
    fs.rmSync(rewrite, { force: true })
  }
}

const ratios = (r: Reading) => r.ours.map((o, i) => o / r.theirs[i]!)

// ---------------------------------------------------------------------------------------------------------------

const writersSideBySide = async (dir: string, rows: number, queryRuns: number) => {
  console.log(
    `\n1. Writers side by side: ${fmtInt(rows)} rows (answers read from their bytes), 122,880 rows a group, SNAPPY ` +
      `unless said, each in a fresh process; query ratios = DuckDB on the file ÷ on DuckDB's rewrite of it ` +
      `(medians of ${queryRuns}), ${queries.map((q) => q.name).join(" / ")}:`
  )
  const out: Array<Array<string>> = []
  for (let i = 0; i < candidates.length; i++) {
    const file = path.join(dir, `writer-${i}.parquet`)
    const r = await spawnChild<WriterResult>(["--writer", String(i), String(rows), file])
    const reading = await readBoth(file, queryRuns)
    fs.rmSync(file, { force: true })
    const encodeSeconds = r.seconds - r.journalSeconds
    out.push([
      candidates[i]!.name,
      encodeSeconds.toFixed(2) + (r.journalSeconds > 0 ? ` (+${r.journalSeconds.toFixed(2)} NDJSON)` : ""),
      fmtInt(r.rows / encodeSeconds),
      (r.hwmKb / 1024).toFixed(0),
      mib(reading.bytes),
      (reading.bytes / reading.theirBytes).toFixed(2),
      String(reading.rowGroups),
      ratios(reading).map((x) => x.toFixed(2)).join(" / ")
    ])
  }
  table(["writer", "s", "rows/s", "peak RSS MB", "MiB", "size ÷ DuckDB's", "row groups", "query ratios"], out)
}

const encoderAtScale = async (dir: string, sizes: ReadonlyArray<number>, queryRuns: number) => {
  console.log(
    `\n2. Our encoder (ParquetEncoder.make(), ${ParquetEncoder.defaultRowGroupRows.toLocaleString("en-US")} rows a ` +
      `group, its worker thread), fed a batch a macrotask, each size in a fresh process. Goals: longest event-loop ` +
      `block <= 20 ms, peak RSS <= 400 MB and flat, query ratios <= 1.2 each:`
  )
  const out: Array<Array<string>> = []
  let reading: Reading | undefined
  for (const [k, n] of sizes.entries()) {
    const file = path.join(dir, `encoder-${n}.parquet`)
    const r = await spawnChild<EncoderResult>([String(n), file, "snappy"], encoderChild)
    if (k === sizes.length - 1) reading = await readBoth(file, queryRuns)
    fs.rmSync(file, { force: true })
    out.push([
      fmtInt(r.rows),
      r.seconds.toFixed(1),
      fmtInt(r.rows / r.seconds),
      (r.startKb / 1024).toFixed(0),
      (r.hwmKb / 1024).toFixed(0),
      mib(r.bytes),
      r.maxDelayMs.toFixed(1),
      r.p99DelayMs.toFixed(1),
      r.maxGapMs.toFixed(1)
    ])
  }
  table(
    ["rows", "s", "rows/s", "RSS before rows MB", "peak RSS MB", "MiB", "max loop delay ms", "p99 ms"]
      .concat(["max 1 ms-timer gap ms"]),
    out
  )
  if (reading !== undefined) {
    console.log(`At ${fmtInt(sizes.at(-1)!)} rows, DuckDB on our file ÷ on its rewrite (medians of ${queryRuns}, ms):`)
    table(
      ["query", "ours ms", "DuckDB-written ms", "ratio"],
      queries.map((q, i) => [
        q.name,
        reading.ours[i]!.toFixed(1),
        reading.theirs[i]!.toFixed(1),
        ratios(reading)[i]!.toFixed(2)
      ])
    )
    console.log(
      `file size: ours ${mib(reading.bytes)} MiB in ${reading.rowGroups} row groups, DuckDB's ` +
        `${mib(reading.theirBytes)} MiB in ${reading.theirRowGroups}: ` +
        (reading.bytes / reading.theirBytes).toFixed(3)
    )
  }
  // The control: the same loop through the NDJSON encoder, on the event loop, into /dev/null.
  const control = await spawnChild<EncoderResult>([String(sizes[0]!), "/dev/null", "ndjson"], encoderChild)
  console.log(
    `control, the same loop with the NDJSON encoder at ${fmtInt(control.rows)} rows: max loop delay ${
      control.maxDelayMs.toFixed(1)
    } ms, p99 ${control.p99DelayMs.toFixed(1)} ms, max timer gap ${control.maxGapMs.toFixed(1)} ms (what the loop ` +
      `and the machine make without Parquet)`
  )
  // ZSTD at the first size, for the file size it buys.
  const zstdFile = path.join(dir, "encoder-zstd.parquet")
  const z = await spawnChild<EncoderResult>([String(sizes[0]!), zstdFile, "zstd"], encoderChild)
  fs.rmSync(zstdFile, { force: true })
  console.log(
    `compression zstd at ${fmtInt(z.rows)} rows: ${z.seconds.toFixed(1)} s, ${mib(z.bytes)} MiB, peak RSS ${
      (z.hwmKb / 1024).toFixed(0)
    } MB, max loop delay ${z.maxDelayMs.toFixed(1)} ms (snappy: ${out[0]![1]} s, ${out[0]![5]} MiB)`
  )
}

export const run = async (): Promise<void> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "assoc-etl-bench-parquet-"))
  const queryRuns = envInt("BENCH_PARQUET_QUERY_RUNS", 7)
  try {
    console.log(`Node ${process.version}, ${os.cpus().length} CPUs`)
    await writersSideBySide(dir, envInt("BENCH_PARQUET_WRITER_ROWS", 1_000_000), queryRuns)
    const sizes = envList("BENCH_PARQUET_ROWS", "1000000,3000000,10000000")
    if (sizes.length > 0) await encoderAtScale(dir, sizes, queryRuns)
    const ids = envInt("BENCH_PARQUET_IDS", 100_000)
    if (ids > 0) await Versus.parquetAgainstNdjson(ids, envInt("BENCH_PARQUET_RUNS", 3))
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [mode, a, b, c] = process.argv.slice(2)
  const main = mode === "--writer"
    ? childWriter(Number(a), Number(b), c!)
    : Promise.reject(new Error(`unknown mode ${mode}`))
  main.catch((error: unknown) => {
    console.error(error)
    process.exit(1)
  })
}
