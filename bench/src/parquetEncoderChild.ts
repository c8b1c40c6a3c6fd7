/**
 * A child process of bench/src/parquet.ts: our Parquet encoder fed `rows` rows as the dataset feeds it (a
 * `write` a batch, the bytes it returns to the file, a macrotask between batches as in an export), with the event
 * loop watched the whole time; prints an `EncoderResult` as a JSON line. It imports no more than that needs, so
 * its peak RSS is the encoder's and the rows', not the benchmark's.
 *
 *   node bench/dist/parquetEncoderChild.js ROWS FILE snappy|zstd|none|ndjson
 *
 * `ndjson` runs the same loop through the NDJSON encoder, which encodes on the event loop in a few ms a batch:
 * the control, showing the delays the loop and the machine make without any Parquet.
 */
import type { RowBatch } from "@assoc-etl/core"
import { BatchReadAnswer } from "@assoc-etl/hubspot"
import { NdjsonEncoder } from "@assoc-etl/sink-ndjson"
import { ParquetEncoder } from "@assoc-etl/sink-parquet"
import { Effect } from "effect"
import * as fs from "node:fs"
import { monitorEventLoopDelay } from "node:perf_hooks"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { makePool, pair } from "./sinks.js"

export interface EncoderResult {
  readonly rows: number
  readonly seconds: number
  readonly bytes: number
  readonly hwmKb: number
  /** Peak RSS before the first row (the process, the pool of answers, the worker started). */
  readonly startKb: number
  /** The longest event-loop delay `monitorEventLoopDelay` saw, ms. */
  readonly maxDelayMs: number
  readonly p99DelayMs: number
  /** The longest gap between two runs of a 1 ms timer, ms. */
  readonly maxGapMs: number
}

const vmHwmKb = (): number => {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync("/proc/self/status", "utf8"))
  return m ? Number(m[1]) : Number.NaN
}

const run = async (rows: number, file: string, variant: ParquetEncoder.Compression | "ndjson") => {
  // The pool's answers read from their bytes once, as the stage hands them to a sink: the loop then only encodes.
  const pool: ReadonlyArray<RowBatch.RowBatch> = makePool(64).map((b) => {
    const answer = BatchReadAnswer.fromBody(b.body)
    if (answer === undefined) throw new Error("the byte scanner declined a pool answer")
    return answer.rows(pair, b.inputs)
  })
  const encoder = variant === "ndjson" ? NdjsonEncoder.make() : ParquetEncoder.make({ compression: variant })
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  let maxGapMs = 0
  let last = performance.now()
  const probe = setInterval(() => {
    const now = performance.now()
    maxGapMs = Math.max(maxGapMs, now - last)
    last = now
  }, 1)
  const fd = fs.openSync(file, "w")
  let count = 0
  let startKb = 0
  let started = 0
  await Effect.runPromise(Effect.gen(function*() {
    const writer = yield* encoder.open
    yield* Effect.sleep("300 millis") // the worker's start-up, which is not encoding
    // The pool was just made: its objects would be copied and promoted by the first collections of the loop, a
    // pause of the harness's making (up to 50 ms seen), not the encoder's. Two full collections first.
    v8.setFlagsFromString("--expose-gc")
    const gc = vm.runInNewContext("gc") as () => void
    gc()
    gc()
    startKb = vmHwmKb()
    histogram.enable()
    last = performance.now()
    maxGapMs = 0
    started = performance.now()
    for (let i = 0; count < rows; i++) {
      const batch = pool[i % pool.length]!
      count += batch.length
      for (const chunk of yield* writer.write(batch)) fs.writeSync(fd, chunk)
      yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
    }
    for (const chunk of yield* writer.finish) fs.writeSync(fd, chunk)
    if (writer.close !== undefined) yield* writer.close
  }))
  const seconds = (performance.now() - started) / 1000
  histogram.disable()
  clearInterval(probe)
  fs.closeSync(fd)
  const result: EncoderResult = {
    rows: count,
    seconds,
    bytes: fs.statSync(file).size,
    hwmKb: vmHwmKb(),
    startKb,
    maxDelayMs: histogram.max / 1e6,
    p99DelayMs: histogram.percentile(99) / 1e6,
    maxGapMs
  }
  console.log(JSON.stringify(result))
}

const [rows, file, compression] = process.argv.slice(2)
if (rows !== undefined && file !== undefined) {
  const variant = (compression ?? "snappy") as ParquetEncoder.Compression | "ndjson"
  run(Number(rows), file, variant).catch((error: unknown) => {
    console.error(error)
    process.exit(1)
  })
}
