/**
 * assoc-etl's CLI export (NDJSON, Parquet) against the script a user would
 * write with `@hubspot/api-client` (bench/src/officialScript.ts), on one
 * in-process simulator: same dataset (seed), same rate limit (20/2s on the
 * simulator and `--rate-limit 20/2s` for ours), latency 100-300 ms. Each tool
 * runs as a child process; peak RSS is the child's VmHWM from /proc, polled.
 * Rows missing/duplicated are counted against `Dataset.groundTruth`.
 * Figures are medians of BENCH_RUNS (3) runs; ratios are per pair of runs.
 * Then a scaling run (latency off) of ours: BENCH_SCALE (default 10000,100000).
 */
import { Dataset, Simulator } from "@assoc-etl/simulator"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const cli = path.resolve(here, "../../packages/cli/dist/bin.js")
const official = path.resolve(here, "officialScript.js")

interface Child { readonly wallMillis: number; readonly peakRssKiB: number; readonly code: number | null }

const runChild = (args: ReadonlyArray<string>): Promise<Child> => new Promise((resolve, reject) => {
  const t0 = performance.now()
  const child = spawn(process.execPath, args, {
    env: { ...process.env, HUBSPOT_ACCESS_TOKEN: "sim-token" },
    stdio: ["ignore", "ignore", "pipe"]
  })
  let peak = 0
  let stderr = ""
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, "utf8"))
      if (m) peak = Math.max(peak, Number(m[1]))
    } catch { /* exited */ }
  }, 20)
  child.on("error", reject)
  child.on("exit", (code) => {
    clearInterval(poll)
    if (code !== 0) console.error(`child ${args[0]} exited ${code}: ${stderr.slice(-500)}`)
    resolve({ wallMillis: performance.now() - t0, peakRssKiB: peak, code })
  })
})

const key = (r: { from_object_id: unknown; to_object_id: unknown; association_category: unknown; association_type_id: unknown }) =>
  `${String(r.from_object_id)}|${String(r.to_object_id)}|${String(r.association_category)}|${String(r.association_type_id)}`

const readRows = (dir: string): Array<string> => {
  const keys: Array<string> = []
  const walk = (p: string) => {
    for (const e of fs.readdirSync(p, { withFileTypes: true })) {
      const f = path.join(p, e.name)
      if (e.isDirectory()) walk(f)
      else if (e.name.endsWith(".ndjson")) {
        for (const line of fs.readFileSync(f, "utf8").split("\n")) if (line.length > 0) keys.push(key(JSON.parse(line)))
      }
    }
  }
  walk(dir)
  return keys
}

const compare = (truth: ReadonlySet<string>, got: ReadonlyArray<string>) => {
  const seen = new Set<string>()
  let duplicated = 0
  for (const k of got) {
    if (seen.has(k)) duplicated++
    else seen.add(k)
  }
  let missing = 0
  for (const k of truth) if (!seen.has(k)) missing++
  return { missing, duplicated }
}

interface Measure {
  readonly tool: string
  readonly wallMillis: number
  readonly requests: number
  readonly status429: number
  readonly rows: number | string
  readonly missing: number | string
  readonly duplicated: number | string
  readonly peakRssKiB: number
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

type Tool = "ours ndjson" | "ours parquet" | "official client"

const session = <A>(
  options: Simulator.SimulatorOptions,
  body: (sim: Simulator.SimulatorService) => Promise<A>
): Promise<A> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const sim = yield* Simulator.make(options)
    return yield* Effect.promise(() => body(sim))
  })))

const measureOne = async (
  sim: Simulator.SimulatorService,
  tool: Tool,
  idsFile: string,
  truth: ReadonlySet<string> | undefined,
  rateLimit: string
): Promise<Measure> => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "versus-"))
  await Effect.runPromise(sim.resetCounters)
  const child = tool === "official client"
    ? await runChild([official, idsFile, path.join(out, "out.ndjson"), sim.baseUrl])
    : await runChild([
      cli, "export", "--from", "contacts", "--to", "companies", "--out", out, "--ids", idsFile,
      "--base-url", sim.baseUrl, "--rate-limit", rateLimit, "--format", tool === "ours parquet" ? "parquet" : "ndjson"
    ])
  const counters = await Effect.runPromise(sim.counters)
  let rows: number | string = "n/a"
  let missing: number | string = "n/a"
  let duplicated: number | string = "n/a"
  if (tool !== "ours parquet" && truth !== undefined) {
    const got = readRows(out)
    rows = got.length
    const c = compare(truth, got)
    missing = c.missing
    duplicated = c.duplicated
  }
  fs.rmSync(out, { recursive: true, force: true })
  return {
    tool,
    wallMillis: child.code === 0 ? child.wallMillis : Number.NaN,
    requests: counters.requests,
    status429: counters.status429,
    rows,
    missing,
    duplicated,
    peakRssKiB: child.peakRssKiB
  }
}

const pad = (s: string, n: number) => s.padStart(n)

export const run = async (): Promise<void> => {
  const idCount = Number(process.env["BENCH_IDS"] ?? 10_000)
  const runs = Number(process.env["BENCH_RUNS"] ?? 3)
  const seed = 7
  const tools: ReadonlyArray<Tool> = ["ours ndjson", "ours parquet", "official client"]
  await session({ seed, objects: idCount, rateLimit: { max: 20, windowMillis: 2000, daily: 0 }, latencyMillis: [100, 300] }, async (sim) => {
    const ids = sim.dataset.ids("contacts").slice(0, idCount)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "versus-ids-"))
    const idsFile = path.join(dir, "ids.txt")
    fs.writeFileSync(idsFile, ids.join("\n") + "\n")
    const truth = new Set(Dataset.groundTruth(sim.dataset, "contacts", "companies", ids).rows.map(key))
    console.log(`versus: ${ids.length} contacts -> companies, ${truth.size} ground-truth rows, simulator 20/2s, latency 100-300 ms, ${runs} runs`)
    const results = new Map<Tool, Array<Measure>>(tools.map((t) => [t, []]))
    for (let r = 0; r < runs; r++) {
      for (const tool of tools) {
        await sleep(2100) // let the previous run's rolling window empty
        const m = await measureOne(sim, tool, idsFile, truth, "20/2s")
        results.get(tool)!.push(m)
        console.log(`  run ${r + 1} ${tool}: ${(m.wallMillis / 1000).toFixed(1)} s, ${m.requests} requests, ${m.status429} 429s`)
      }
    }
    console.log(`${"tool".padEnd(16)}${pad("wall s", 8)}${pad("requests", 10)}${pad("429s", 6)}${pad("rows", 9)}${pad("missing", 9)}${
      pad("dup", 6)}${pad("peak RSS MiB", 14)}`)
    for (const tool of tools) {
      const ms = results.get(tool)!
      const med = (f: (m: Measure) => number) => median(ms.map(f))
      const medOrNa = (f: (m: Measure) => number | string) => typeof f(ms[0]!) === "number" ? String(med((m) => f(m) as number)) : "n/a"
      console.log(`${tool.padEnd(16)}${pad((med((m) => m.wallMillis) / 1000).toFixed(1), 8)}${pad(String(med((m) => m.requests)), 10)}${
        pad(String(med((m) => m.status429)), 6)}${pad(medOrNa((m) => m.rows), 9)}${pad(medOrNa((m) => m.missing), 9)}${
        pad(medOrNa((m) => m.duplicated), 6)}${pad((med((m) => m.peakRssKiB) / 1024).toFixed(0), 14)}`)
    }
    const theirs = results.get("official client")!
    for (const tool of ["ours ndjson", "ours parquet"] as const) {
      const ours = results.get(tool)!
      const ratios = ours.map((m, i) => m.wallMillis / theirs[i]!.wallMillis)
      const rss = ours.map((m, i) => m.peakRssKiB / theirs[i]!.peakRssKiB)
      console.log(`${tool} / official: wall ${median(ratios).toFixed(3)} (per pair ${ratios.map((x) => x.toFixed(2)).join(", ")}), ` +
        `speedup ${(1 / median(ratios)).toFixed(2)}x, peak RSS ${median(rss).toFixed(2)}`)
    }
    fs.rmSync(dir, { recursive: true, force: true })
  })
  const scale = (process.env["BENCH_SCALE"] ?? "10000,100000").split(",").map(Number)
  console.log(`scaling (ours ndjson, latency off, simulator 20/2s, CLI --rate-limit 20/2s):`)
  console.log(`${"objects".padStart(9)}${pad("wall s", 9)}${pad("requests", 10)}${pad("429s", 6)}${pad("rows", 10)}${pad("missing", 9)}${pad("dup", 6)}${pad("peak RSS MiB", 14)}`)
  for (const n of scale) {
    await session({ seed, objects: n, rateLimit: { max: 20, windowMillis: 2000, daily: 0 }, latencyMillis: [0, 0] }, async (sim) => {
      const ids = sim.dataset.ids("contacts").slice(0, n)
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "versus-ids-"))
      const idsFile = path.join(dir, "ids.txt")
      fs.writeFileSync(idsFile, ids.join("\n") + "\n")
      const truth = new Set(Dataset.groundTruth(sim.dataset, "contacts", "companies", ids).rows.map(key))
      const m = await measureOne(sim, "ours ndjson", idsFile, truth, "20/2s")
      console.log(`${String(ids.length).padStart(9)}${pad((m.wallMillis / 1000).toFixed(1), 9)}${pad(String(m.requests), 10)}${
        pad(String(m.status429), 6)}${pad(String(m.rows), 10)}${pad(String(m.missing), 9)}${pad(String(m.duplicated), 6)}${
        pad((m.peakRssKiB / 1024).toFixed(0), 14)}`)
      fs.rmSync(dir, { recursive: true, force: true })
    })
  }
}
