/**
 * The sinks benchmark. On the same synthetic batch-read answers, in one run:
 *
 * - baseline: a plain Node loop that parses each answer's body (`JSON.parse`),
 *   walks it, `JSON.stringify`s each row and writes 1 MiB buffers to a file
 *   (what a script on an HTTP client would do);
 * - ndjson / ndjson.gz / parquet: each answer read from its body as the client
 *   reads it (`BatchReadAnswer.fromBody`, a `RowBatch` over the body), our part
 *   encoder, and the returned bytes written to a file.
 *
 * Both start from the answers' bodies, as they come off the wire, and end with
 * the file: until session 7 both started from answers already parsed, which
 * left out the step where ours and a script differ most (ours never builds the
 * parsed tree), and charged ours with making row objects that the export no
 * longer makes.
 *
 * Rows/s are medians of several rounds (rounds interleave the variants so
 * they share the machine's state); ratios are ours/baseline. Peak RSS runs
 * each size in a fresh child process (`process.resourceUsage().maxRSS`), one
 * part of all rows, the worst case for an encoder's memory. The longest single
 * `write` call is the longest the event loop is blocked by encoding.
 *
 * Settings (environment): BENCH_ROWS (default 1,000,000), BENCH_ROUNDS (5),
 * BENCH_RSS_ROWS (comma list, default 1000000,3000000,10000000).
 */
import { type AssociationRow, type ObjectId, ObjectType, type PartEncoder } from "@assoc-etl/core"
import { type AssociationsApi, BatchReadAnswer } from "@assoc-etl/hubspot"
import { NdjsonEncoder } from "@assoc-etl/sink-ndjson"
import { ParquetEncoder } from "@assoc-etl/sink-parquet"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const pair: AssociationRow.Pair = {
  fromType: ObjectType.unsafeMake("contacts"),
  toType: ObjectType.unsafeMake("companies")
}

export interface Batch {
  readonly inputs: ReadonlyArray<ObjectId.ObjectId>
  /** The answer as HubSpot sends it. */
  readonly body: Uint8Array
  readonly rows: number
}

const categories = ["HUBSPOT_DEFINED", "HUBSPOT_DEFINED", "HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED"]
const labels = ["Primary", "Billing contact", "Decision maker", "Champion", "Former employee", "Partner"]

/**
 * A pool of distinct batch-read answers (1000 inputs each, 0-4 to-objects an
 * input, 1-2 association types a to-object, about 30% null labels), cycled to
 * make any number of rows without generating data inside the timed loop.
 */
export const makePool = (batches: number, seed = 42): ReadonlyArray<Batch> => {
  let s = seed >>> 0
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0)
  const pool: Array<Batch> = []
  let from = 10_000_000_000
  for (let b = 0; b < batches; b++) {
    const inputs: Array<ObjectId.ObjectId> = []
    const results: Array<AssociationsApi.BatchReadResult> = []
    let rows = 0
    for (let i = 0; i < 1000; i++) {
      from += 1 + (next() % 3)
      const id = String(from) as ObjectId.ObjectId
      inputs.push(id)
      const tos = next() % 5
      if (tos === 0) continue
      const to: Array<AssociationsApi.AssociatedObject> = []
      for (let t = 0; t < tos; t++) {
        const types: Array<AssociationsApi.AssociationType> = []
        const n = next() % 10 < 7 ? 1 : 2
        for (let k = 0; k < n; k++) {
          const r = next()
          const category = categories[r % categories.length]!
          const typeId = category === "HUBSPOT_DEFINED" ? (k === 0 ? 1 : 279) : 10 + (r % 7)
          // A type once a to-object, as HubSpot answers.
          if (types.some((t) => t.category === category && t.typeId === typeId)) continue
          types.push({ category, typeId, label: (r >>> 8) % 10 < 3 ? null : labels[(r >>> 12) % labels.length]! })
        }
        to.push({ toObjectId: String(20_000_000_000 + (next() % 900_000_000)) as ObjectId.ObjectId, associationTypes: types })
        rows += types.length
      }
      results.push({ from: { id }, to })
    }
    const body = new TextEncoder().encode(JSON.stringify({ status: "COMPLETE", results }))
    pool.push({ inputs, body, rows })
  }
  return pool
}

/** Batches from the pool until `rows` rows (the last batch may overshoot). */
export function* batchesFor(pool: ReadonlyArray<Batch>, rows: number): Generator<Batch> {
  let produced = 0
  for (let i = 0; produced < rows; i++) {
    const batch = pool[i % pool.length]!
    produced += batch.rows
    yield batch
  }
}

interface Result {
  readonly rows: number
  readonly seconds: number
  readonly bytes: number
  /** Longest single synchronous encode call, ms (a GC pause that lands in it counts). */
  readonly maxBlockMs: number
  /** 99th percentile of the encode calls, ms. */
  readonly p99BlockMs: number
}

const utf8 = new TextDecoder()

/** The baseline: parse each answer, walk it, one `JSON.stringify` a row, buffered 1 MiB writes. */
const runBaseline = (pool: ReadonlyArray<Batch>, rows: number, file: string): Result => {
  const started = performance.now()
  const fd = fs.openSync(file, "w")
  let buffer = ""
  let count = 0
  let bytes = 0
  for (const batch of batchesFor(pool, rows)) {
    const answer: Pick<AssociationsApi.BatchReadResponse, "results"> = JSON.parse(utf8.decode(batch.body))
    for (const result of answer.results) {
      for (const to of result.to) {
        for (const t of to.associationTypes) {
          buffer += JSON.stringify({
            from_object_type: pair.fromType,
            from_object_id: result.from.id,
            to_object_type: pair.toType,
            to_object_id: to.toObjectId,
            association_category: t.category,
            association_type_id: t.typeId,
            association_label: t.label
          }) + "\n"
          count++
        }
      }
      if (buffer.length > 1 << 20) {
        bytes += fs.writeSync(fd, buffer)
        buffer = ""
      }
    }
  }
  bytes += fs.writeSync(fd, buffer)
  fs.closeSync(fd)
  return { rows: count, seconds: (performance.now() - started) / 1000, bytes, maxBlockMs: Number.NaN, p99BlockMs: Number.NaN }
}

/** Ours: read each answer from its bytes, encode its rows through the part encoder, write the returned bytes. */
const runEncoder = (
  encoder: PartEncoder.PartEncoder,
  pool: ReadonlyArray<Batch>,
  rows: number,
  file: string
): Promise<Result> =>
  Effect.runPromise(Effect.gen(function*() {
    const started = performance.now()
    const fd = fs.openSync(file, "w")
    let count = 0
    let bytes = 0
    const blocks: Array<number> = []
    const writeAll = (chunks: ReadonlyArray<Uint8Array>) => {
      for (const chunk of chunks) bytes += fs.writeSync(fd, chunk)
    }
    const writer = yield* encoder.open
    for (const batch of batchesFor(pool, rows)) {
      // What the stage hands a sink for an answer of the common shape.
      const answer = BatchReadAnswer.fromBody(batch.body)
      if (answer === undefined) throw new Error("the byte scanner declined a pool answer: the pool is not the common shape")
      const flat = answer.rows(pair, batch.inputs)
      count += flat.length
      const t0 = performance.now()
      const out = yield* writer.write(flat)
      blocks.push(performance.now() - t0)
      writeAll(out)
    }
    const t0 = performance.now()
    const out = yield* writer.finish
    blocks.push(performance.now() - t0)
    writeAll(out)
    fs.closeSync(fd)
    blocks.sort((a, b) => a - b)
    const maxBlockMs = blocks.at(-1) ?? 0
    const p99BlockMs = blocks[Math.min(blocks.length - 1, Math.floor(blocks.length * 0.99))] ?? 0
    return { rows: count, seconds: (performance.now() - started) / 1000, bytes, maxBlockMs, p99BlockMs }
  }))

interface Variant {
  readonly name: string
  readonly extension: string
  readonly run: (pool: ReadonlyArray<Batch>, rows: number, file: string) => Promise<Result>
}

const encoderVariant = (name: string, encoder: PartEncoder.PartEncoder): Variant => ({
  name,
  extension: encoder.extension,
  run: (pool, rows, file) => runEncoder(encoder, pool, rows, file)
})

const variants: ReadonlyArray<Variant> = [
  { name: "baseline (plain loop, JSON.stringify)", extension: ".ndjson", run: async (p, r, f) => runBaseline(p, r, f) },
  encoderVariant("ndjson", NdjsonEncoder.make()),
  encoderVariant("ndjson.gz (level 6)", NdjsonEncoder.make({ gzip: true })),
  encoderVariant(
    `parquet snappy (${ParquetEncoder.defaultRowGroupRows.toLocaleString("en-US")} rows/group, worker thread)`,
    ParquetEncoder.make()
  ),
  encoderVariant("parquet uncompressed", ParquetEncoder.make({ compression: "none" }))
]

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const fmtInt = (n: number) => Math.round(n).toLocaleString("en-US")
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1)
const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length))
const lpad = (s: string, n: number) => (s.length >= n ? s : " ".repeat(n - s.length) + s)

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (i === 0 ? pad(c, widths[i]!) : lpad(c, widths[i]!))).join("  ")
  console.log(line(header))
  console.log(widths.map((w) => "-".repeat(w)).join("  "))
  for (const r of rows) console.log(line(r))
}

const envInt = (name: string, fallback: number) => {
  const v = process.env[name]
  return v === undefined || v === "" ? fallback : Number.parseInt(v, 10)
}

// ---------------------------------------------------------------------------
// Child mode: one encoder, one size, one fresh process; prints a JSON line.
// ---------------------------------------------------------------------------

const childFormats: Record<string, () => PartEncoder.PartEncoder> = {
  ndjson: () => NdjsonEncoder.make(),
  parquet: () => ParquetEncoder.make()
}

const runChild = async (format: string, rows: number) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "assoc-etl-bench-"))
  try {
    const pool = makePool(16)
    const encoder = childFormats[format]!()
    const result = await runEncoder(encoder, pool, rows, path.join(dir, `part${encoder.extension}`))
    console.log(JSON.stringify({ ...result, maxRssKb: process.resourceUsage().maxRSS, hwmKb: vmHwmKb() }))
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * This process's own peak RSS (Linux `VmHWM`, reset by exec). `maxRSS` is
 * also kept by Linux across fork and exec, so a child's `maxRSS` is at least
 * its parent's RSS at spawn time; the RSS runs go first, while the parent is small.
 */
const vmHwmKb = (): number | null => {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync("/proc/self/status", "utf8"))
    return m ? Number(m[1]) : null
  } catch {
    return null
  }
}

const spawnChild = (
  format: string,
  rows: number
): Promise<Result & { readonly maxRssKb: number; readonly hwmKb: number | null }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--child", format, String(rows)], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.on("data", (d: Buffer) => (out += d.toString()))
    child.on("error", reject)
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`child ${format} ${rows} exited with ${code}`))
      try {
        resolve(JSON.parse(out.trim().split("\n").at(-1)!))
      } catch (e) {
        reject(e)
      }
    })
  })

// ---------------------------------------------------------------------------

export const run = async (): Promise<void> => {
  const rows = envInt("BENCH_ROWS", 1_000_000)
  const rounds = envInt("BENCH_ROUNDS", 5)
  const rssRows = (process.env["BENCH_RSS_ROWS"] ?? "1000000,3000000,10000000").split(",").map(Number)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "assoc-etl-bench-"))
  try {
    // 1. Peak RSS first, one fresh child process per encoder and size, while this process is small.
    console.log("\nPeak RSS, one part of all rows, each in a fresh process (goal <= 400 MB, flat as rows grow):")
    const rss: Array<Array<string>> = []
    for (const format of Object.keys(childFormats)) {
      for (const n of rssRows) {
        const r = await spawnChild(format, n)
        rss.push([
          format,
          fmtInt(r.rows),
          ((r.hwmKb ?? r.maxRssKb) / 1024).toFixed(0),
          (r.maxRssKb / 1024).toFixed(0),
          r.seconds.toFixed(1),
          fmtInt(r.rows / r.seconds),
          mib(r.bytes),
          r.maxBlockMs.toFixed(1)
        ])
      }
    }
    table(["format", "rows", "peak RSS MB (VmHWM)", "maxRSS MB", "s", "rows/s", "MiB", "max block ms"], rss)

    const pool = makePool(64)
    const poolRows = pool.reduce((n, b) => n + b.rows, 0)
    console.log(
      `${fmtInt(rows)} rows a round, ${rounds} rounds, answers cycled from a pool of ${pool.length} batches ` +
        `(${fmtInt(poolRows)} distinct rows), Node ${process.version}, ${os.cpus().length} CPUs`
    )

    // 2. Throughput, interleaved rounds.
    const results = new Map<string, Array<Result>>(variants.map((v) => [v.name, []]))
    // One warm-up round on fewer rows, so JIT warm-up is not in the medians.
    for (const v of variants) await v.run(pool, Math.min(rows, 200_000), path.join(dir, `warm${v.extension}`))
    for (let round = 0; round < rounds; round++) {
      for (const v of variants) {
        const file = path.join(dir, `part${v.extension}`)
        results.get(v.name)!.push(await v.run(pool, rows, file))
        fs.rmSync(file, { force: true })
      }
    }
    const baselineRate = median(results.get(variants[0]!.name)!.map((r) => r.rows / r.seconds))
    console.log("\nThroughput (median of rounds; ratio = ours / baseline rows/s):")
    table(
      ["variant", "rows/s", "ratio", "s", "MiB", "p99 block ms", "max block ms"],
      variants.map((v) => {
        const rs = results.get(v.name)!
        const rate = median(rs.map((r) => r.rows / r.seconds))
        const maxBlock = Math.max(...rs.map((r) => r.maxBlockMs))
        const p99Block = median(rs.map((r) => r.p99BlockMs))
        return [
          v.name,
          fmtInt(rate),
          (rate / baselineRate).toFixed(2),
          median(rs.map((r) => r.seconds)).toFixed(2),
          mib(rs[0]!.bytes),
          Number.isNaN(p99Block) ? "-" : p99Block.toFixed(1),
          Number.isNaN(maxBlock) ? "-" : maxBlock.toFixed(1)
        ]
      })
    )
    console.log("goals: ndjson ratio >= 0.6, parquet ratio >= 0.5")
    console.log(
      "block ms: how long a write (or finish) took. Parquet encodes in a worker thread, so its figure is mostly the " +
        "wait for the worker (flow control, the last group and the footer), not time the event loop was held: the " +
        "parquet bench measures that."
    )

    // The row-group sweep of earlier sessions (how long one synchronous encode blocks the event loop) is gone with
    // the encoder's worker thread: bench/src/parquet.ts measures the event loop while it encodes.
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === "--child") {
  runChild(process.argv[3]!, Number(process.argv[4])).catch((error: unknown) => {
    console.error(error)
    process.exit(1)
  })
}
