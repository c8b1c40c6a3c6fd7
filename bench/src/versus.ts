/**
 * assoc-etl's CLI export (NDJSON, Parquet) against the script a user would
 * write with `@hubspot/api-client` (bench/src/officialScript.ts), on one
 * simulator (its own process, so the benchmark's sets of row keys and their
 * garbage collections never delay an answer): same portal (seed), same rate limit (20/2s on the
 * simulator and `--rate-limit 20/2s` for ours), latency 100-300 ms. Each tool
 * runs as a child process; peak RSS is the child's VmHWM from /proc, polled.
 * Rows missing/duplicated are counted against `SimulatedPortal.groundTruth` (Parquet
 * parts read back with hyparquet). The official-client script runs twice: as
 * its README shows (no `after`), and following `after` as a careful user
 * would once they notice the missing rows (`--follow-after`).
 * Figures are medians of BENCH_RUNS (3) runs; ratios are per pair of runs. The
 * comparison runs at each size of BENCH_IDS (default 10000,100000 contacts: a
 * small export, where start-up and the last pages' round trips weigh, and a
 * nightly one).
 * Then a scaling run (latency off) of ours: BENCH_SCALE (default
 * 10000,100000,1000000), checked against the portal by a multiset
 * fingerprint (count and two 32-bit hash sums) so 1M objects fit in memory.
 */
import { ParquetReader } from "@assoc-etl/sink-parquet"
import { SimulatedPortal, Simulator } from "@assoc-etl/simulator"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as readline from "node:readline"
import { fileURLToPath } from "node:url"
import * as PeakRss from "./peakRss.js"
import * as SimulatorProcess from "./simulatorProcess.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const cli = path.resolve(here, "../../packages/cli/dist/assoc-etl.mjs")
const official = path.resolve(here, "officialScript.js")

interface Child {
  readonly wallMillis: number
  readonly peakRssKiB: number
  readonly code: number | null
  /** Epoch millis of the spawn and of the exit, on the clock of the simulator's arrival log. */
  readonly spawnedAt: number
  readonly exitedAt: number
}

const runChild = (args: ReadonlyArray<string>): Promise<Child> => new Promise((resolve, reject) => {
  const t0 = performance.now()
  const spawnedAt = Date.now()
  const child = spawn(process.execPath, args, {
    env: { ...process.env, HUBSPOT_ACCESS_TOKEN: "sim-token" },
    stdio: ["ignore", "ignore", "pipe"]
  })
  let stderr = ""
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
  const rss = PeakRss.watch(child.pid)
  child.on("error", reject)
  child.on("exit", (code) => {
    rss.stop()
    if (code !== 0) console.error(`child ${args[0]} exited ${code}: ${stderr.slice(-500)}`)
    resolve({ wallMillis: performance.now() - t0, peakRssKiB: rss.peakKiB(), code, spawnedAt, exitedAt: Date.now() })
  })
})

const key = (r: { from_object_id: unknown; to_object_id: unknown; association_category: unknown; association_type_id: unknown }) =>
  `${String(r.from_object_id)}|${String(r.to_object_id)}|${String(r.association_category)}|${String(r.association_type_id)}`

/** Every row key of the export in `dir`: NDJSON parts (and the official script's file) or Parquet parts. */
const readKeys = async (dir: string, onKey: (key: string) => void): Promise<void> => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const f = path.join(dir, e.name)
    if (e.isDirectory() || e.name.startsWith(".")) continue
    if (e.name.endsWith(".ndjson")) {
      // Line by line: the official script's one file passes V8's longest string (512 MiB) at 100,000 contacts.
      for await (const line of readline.createInterface({ input: fs.createReadStream(f), crlfDelay: Infinity })) {
        if (line.length > 0) onKey(key(JSON.parse(line)))
      }
    } else if (e.name.endsWith(".parquet")) {
      for (const row of await Effect.runPromise(ParquetReader.readRows(f))) onKey(key(row))
    }
  }
}

/** A multiset's fingerprint: its size and two independent 32-bit hash sums of its members. */
class Fingerprint {
  count = 0
  private a = 0
  private b = 0
  add(s: string) {
    let h1 = 0xdeadbeef
    let h2 = 0x41c6ce57
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      h1 = Math.imul(h1 ^ c, 2654435761)
      h2 = Math.imul(h2 ^ c, 1597334677)
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909)
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909)
    this.count++
    this.a = (this.a + (h1 >>> 0)) >>> 0
    this.b = (this.b + (h2 >>> 0)) >>> 0
  }
  equals(that: Fingerprint) {
    return this.count === that.count && this.a === that.a && this.b === that.b
  }
}

/** The rows of the export in `dir`, and how many of `truth` are missing from them or written twice. */
const compare = async (truth: ReadonlySet<string>, dir: string) => {
  const seen = new Set<string>()
  let rows = 0
  let duplicated = 0
  await readKeys(dir, (k) => {
    rows++
    if (seen.has(k)) duplicated++
    else seen.add(k)
  })
  let missing = 0
  for (const k of truth) if (!seen.has(k)) missing++
  return { rows, missing, duplicated }
}

interface Measure {
  readonly tool: Tool
  readonly wallMillis: number
  readonly requests: number
  readonly status429: number
  readonly rows: number
  readonly missing: number
  readonly duplicated: number
  readonly peakRssKiB: number
  readonly phases: Phases
}

/**
 * Where a run's wall time went, from the simulator's arrival log: spawn to the first arrival (start-up), first
 * to last arrival, last arrival to exit (the last answer, its pages written, the manifest). `floorMillis` is
 * the least the rate limit allows between the first and last of that many arrivals: the (max·k+1)-th arrival
 * is at least k windows after the first (no rolling window holds more than max).
 */
interface Phases {
  readonly startupMillis: number
  readonly spanMillis: number
  readonly floorMillis: number
  readonly finishMillis: number
}

const phasesOf = (child: Child, arrivals: ReadonlyArray<number>): Phases => {
  const first = arrivals[0] ?? Number.NaN
  const last = arrivals[arrivals.length - 1] ?? Number.NaN
  return {
    startupMillis: first - child.spawnedAt,
    spanMillis: last - first,
    floorMillis: Math.floor(Math.max(0, arrivals.length - 1) / simulatorLimit.max) * simulatorLimit.windowMillis,
    finishMillis: child.exitedAt - last
  }
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

type Tool = "ours ndjson" | "ours parquet" | "official client" | "official + after"
const tools: ReadonlyArray<Tool> = ["ours ndjson", "ours parquet", "official client", "official + after"]

/** The simulator, in its own process, and its portal (the same seed and size), for the ground truth. */
interface Session {
  readonly baseUrl: string
  readonly portal: SimulatedPortal.SimulatedPortal
}

const session = <A>(
  options: { readonly objects: number; readonly latency: string },
  body: (sim: Session) => Promise<A>
): Promise<A> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const { baseUrl } = yield* SimulatorProcess.start([
      "--seed", String(seed), "--objects", String(options.objects), "--rate-limit", `${simulatorLimit.max}/${simulatorLimit.windowMillis}`,
      "--latency", options.latency
    ])
    const portal = SimulatedPortal.make({ seed, objects: options.objects, types: Simulator.defaultTypes })
    return yield* Effect.promise(() => body({ baseUrl, portal }))
  })))

const writeIds = (ids: ReadonlyArray<string>): { readonly file: string; readonly remove: () => void } => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "versus-ids-"))
  const file = path.join(dir, "ids.txt")
  fs.writeFileSync(file, ids.join("\n") + "\n")
  return { file, remove: () => fs.rmSync(dir, { recursive: true, force: true }) }
}

/** Runs one tool as a child on `idsFile` into a fresh directory; `check` reads that directory back. */
const runTool = async <A>(
  sim: Session,
  tool: Tool,
  idsFile: string,
  check: (dir: string) => Promise<A>
): Promise<{
  readonly child: Child
  readonly requests: number
  readonly status429: number
  readonly arrivals: ReadonlyArray<number>
  readonly checked: A
}> => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "versus-"))
  await Effect.runPromise(SimulatorProcess.resetCounters(sim.baseUrl))
  const child = tool === "official client" || tool === "official + after"
    ? await runChild([official, idsFile, path.join(out, "out.ndjson"), sim.baseUrl, ...(tool === "official + after" ? ["--follow-after"] : [])])
    : await runChild([
      cli, "export", "--from", "contacts", "--to", "companies", "--out", out, "--ids", idsFile,
      "--base-url", sim.baseUrl, "--rate-limit", rateLimit, "--format", tool === "ours parquet" ? "parquet" : "ndjson"
    ])
  const counters = await Effect.runPromise(SimulatorProcess.counters(sim.baseUrl))
  const checked = await check(out)
  fs.rmSync(out, { recursive: true, force: true })
  return { child, requests: counters.requests, status429: counters.status429, arrivals: counters.arrivals, checked }
}

const pad = (s: string, n: number) => s.padStart(n)
const rateLimit = "20/2s"
const simulatorLimit = { max: 20, windowMillis: 2000 }
const seed = 7

const compareRuns = async (idCount: number, runs: number) =>
  session({ objects: idCount, latency: "100-300" }, async (sim) => {
    const ids = sim.portal.ids("contacts").slice(0, idCount)
    const idsFile = writeIds(ids)
    const truth = new Set(SimulatedPortal.groundTruth(sim.portal, "contacts", "companies", ids).rows.map(key))
    console.log(`versus: ${ids.length} contacts -> companies, ${truth.size} ground-truth rows, simulator 20/2s, latency 100-300 ms, ${runs} runs`)
    const results = new Map<Tool, Array<Measure>>(tools.map((t) => [t, []]))
    for (let r = 0; r < runs; r++) {
      for (const tool of tools) {
        await sleep(2100) // let the previous run's rolling window empty
        const { arrivals, checked, child, requests, status429 } = await runTool(sim, tool, idsFile.file, (dir) =>
          compare(truth, dir))
        const m: Measure = {
          tool,
          wallMillis: child.code === 0 ? child.wallMillis : Number.NaN,
          requests,
          status429,
          ...checked,
          peakRssKiB: child.peakRssKiB,
          phases: phasesOf(child, arrivals)
        }
        results.get(tool)!.push(m)
        console.log(`  run ${r + 1} ${tool}: ${(m.wallMillis / 1000).toFixed(1)} s, ${m.requests} requests, ${m.status429} 429s`)
      }
    }
    console.log(`${"tool".padEnd(17)}${pad("wall s", 8)}${pad("requests", 10)}${pad("429s", 6)}${pad("rows", 9)}${pad("missing", 9)}${
      pad("dup", 6)}${pad("peak RSS MiB", 14)}`)
    for (const tool of tools) {
      const ms = results.get(tool)!
      const med = (f: (m: Measure) => number) => median(ms.map(f))
      console.log(`${tool.padEnd(17)}${pad((med((m) => m.wallMillis) / 1000).toFixed(1), 8)}${pad(String(med((m) => m.requests)), 10)}${
        pad(String(med((m) => m.status429)), 6)}${pad(String(med((m) => m.rows)), 9)}${pad(String(med((m) => m.missing)), 9)}${
        pad(String(med((m) => m.duplicated)), 6)}${pad((med((m) => m.peakRssKiB) / 1024).toFixed(0), 14)}`)
    }
    for (const baseline of ["official client", "official + after"] as const) {
      const theirs = results.get(baseline)!
      for (const tool of ["ours ndjson", "ours parquet"] as const) {
        const ours = results.get(tool)!
        const ratios = ours.map((m, i) => m.wallMillis / theirs[i]!.wallMillis)
        const rss = ours.map((m, i) => m.peakRssKiB / theirs[i]!.peakRssKiB)
        console.log(`${tool} / ${baseline}: wall ${median(ratios).toFixed(3)} (per pair ${ratios.map((x) => x.toFixed(2)).join(", ")}), ` +
          `speedup ${(1 / median(ratios)).toFixed(2)}x, peak RSS ${median(rss).toFixed(2)}`)
      }
    }
    for (const tool of tools) {
      const ms = results.get(tool)!
      const s = (f: (p: Phases) => number) => (median(ms.map((m) => f(m.phases))) / 1000).toFixed(2)
      console.log(`${tool} wall time (medians, s): start-up ${s((p) => p.startupMillis)}, first to last arrival ${
        s((p) => p.spanMillis)} (the rate limit's floor ${s((p) => p.floorMillis)}), last arrival to exit ${s((p) => p.finishMillis)}`)
    }
    idsFile.remove()
  })

const scalingRun = async (n: number) =>
  session({ objects: n, latency: "0-0" }, async (sim) => {
    const ids = sim.portal.ids("contacts").slice(0, n)
    const idsFile = writeIds(ids)
    const truth = new Fingerprint()
    for (const id of ids) {
      for (const a of sim.portal.associations("contacts", "companies", id)) {
        for (const t of a.associationTypes) {
          truth.add(key({ from_object_id: id, to_object_id: a.toObjectId, association_category: t.category, association_type_id: t.typeId }))
        }
      }
    }
    const { checked: got, child, requests, status429 } = await runTool(sim, "ours ndjson", idsFile.file, async (dir) => {
      const fp = new Fingerprint()
      await readKeys(dir, (k) => fp.add(k))
      return fp
    })
    console.log(`${String(ids.length).padStart(9)}${pad(child.code === 0 ? (child.wallMillis / 1000).toFixed(1) : "failed", 9)}${
      pad(String(requests), 10)}${pad(String(status429), 6)}${pad(String(got.count), 11)}${pad(String(truth.count), 11)}${
      pad(got.equals(truth) ? "yes" : "NO", 7)}${pad((child.peakRssKiB / 1024).toFixed(0), 14)}`)
    idsFile.remove()
  })

export const run = async (): Promise<void> => {
  const runs = Number(process.env["BENCH_RUNS"] ?? 3)
  const sizes = (process.env["BENCH_IDS"] ?? "10000,100000").split(",").map(Number).filter((n) => n > 0)
  for (const n of sizes) await compareRuns(n, runs)
  const scale = (process.env["BENCH_SCALE"] ?? "10000,100000,1000000").split(",").map(Number).filter((n) => n > 0)
  if (scale.length === 0) return
  console.log(`scaling (ours ndjson, latency off, simulator 20/2s, CLI --rate-limit 20/2s; exact = same multiset as the dataset):`)
  console.log(`${"objects".padStart(9)}${pad("wall s", 9)}${pad("requests", 10)}${pad("429s", 6)}${pad("rows", 11)}${pad("expected", 11)}${
    pad("exact", 7)}${pad("peak RSS MiB", 14)}`)
  for (const n of scale) await scalingRun(n)
}

/**
 * Issue 19's goal: ours Parquet against ours NDJSON on the same ids, same simulator (latency 100-300 ms, 20/2s),
 * alternated run by run so both share the machine's state; wall time ratio per pair, and its median.
 */
export const parquetAgainstNdjson = async (idCount: number, runs: number): Promise<void> =>
  session({ objects: idCount, latency: "100-300" }, async (sim) => {
    const ids = sim.portal.ids("contacts").slice(0, idCount)
    const idsFile = writeIds(ids)
    const truth = new Set(SimulatedPortal.groundTruth(sim.portal, "contacts", "companies", ids).rows.map(key))
    console.log(
      `\n3. The CLI, Parquet against NDJSON: ${ids.length} contacts -> companies (${truth.size} rows), simulator ` +
        `20/2s, latency 100-300 ms, ${runs} runs of each, alternated (goal: Parquet wall ÷ NDJSON wall <= 1.05):`
    )
    const walls: Record<"ours ndjson" | "ours parquet", Array<number>> = { "ours ndjson": [], "ours parquet": [] }
    const rss: Record<"ours ndjson" | "ours parquet", Array<number>> = { "ours ndjson": [], "ours parquet": [] }
    for (let r = 0; r < runs; r++) {
      for (const tool of ["ours ndjson", "ours parquet"] as const) {
        await sleep(2100) // let the previous run's rolling window empty
        const { checked, child, requests, status429 } = await runTool(sim, tool, idsFile.file, (dir) =>
          compare(truth, dir))
        const wall = child.code === 0 ? child.wallMillis : Number.NaN
        walls[tool].push(wall)
        rss[tool].push(child.peakRssKiB / 1024)
        console.log(
          `  run ${r + 1} ${tool}: ${(wall / 1000).toFixed(1)} s, ${requests} requests, ${status429} 429s, ` +
            `${checked.rows} rows, ${checked.missing} missing, ${checked.duplicated} duplicated, peak RSS ` +
            `${(child.peakRssKiB / 1024).toFixed(0)} MiB`
        )
      }
    }
    const pairs = walls["ours parquet"].map((p, i) => p / walls["ours ndjson"][i]!)
    const figures = (tool: "ours ndjson" | "ours parquet") =>
      `${(median(walls[tool]) / 1000).toFixed(1)} s / ${median(rss[tool]).toFixed(0)} MiB`
    console.log(
      `  ndjson ${figures("ours ndjson")}, parquet ${figures("ours parquet")}: Parquet ÷ NDJSON ` +
        `${median(pairs).toFixed(3)} (per pair ${pairs.map((x) => x.toFixed(2)).join(", ")}; goal <= 1.05)`
    )
    idsFile.remove()
  })
