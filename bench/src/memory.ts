/**
 * Issue 22's goals, the export's memory bounded whatever the answers weigh, measured through the built CLI
 * (`assoc-etl export`, a child process, NDJSON) against the simulator in its own process, latency 100-300 ms and
 * 20 requests / 2 s on both sides (as `versus`), contacts → companies:
 *
 * - heavy answers (`--shape heavy`: every id has 480-600 associations, ~70 KB of answer an id, ~70 MB a batch of
 *   1000) at 10,000 and 100,000 ids: peak RSS ≤ 400 MB at both, and wall ≤ 1.15 × before;
 * - light answers (the typical shape) at 100,000 ids: no regression in peak RSS, wall time or batch reads.
 *
 * "Before" is the export without the budget, in the same run: the bundle `BENCH_MEMORY_BEFORE` names (the build
 * before the change: `assoc-etl.mjs` of a bundle made from an earlier commit), else this CLI with
 * `--memory 1TB` (a budget nothing reaches). "After" is this CLI at its defaults. Each scenario alternates
 * before and after, `BENCH_RUNS` runs each (default 3: a 10,000-id peak moves by ±20 MiB from run to run, enough
 * to turn the flatness verdict with one), and reports medians; every run's rows are checked against
 * the ground truth's count (from the same seeded portal here), its batch reads and 429s are the simulator's.
 *
 * `node bench/dist/main.js memory`; `BENCH_MEMORY=heavy10k,light` runs only those scenarios
 * (`heavy10k`, `heavy100k`, `light`).
 */
import { SimulatedPortal, Simulator } from "@assoc-etl/simulator"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import {
  cli,
  counters,
  fmt,
  latency,
  manifestRows,
  reset,
  type Row,
  say,
  seconds,
  seed,
  table,
  tempDir,
  withTempRoot,
  writeIds
} from "./cliRuns.js"
import * as PeakRss from "./peakRss.js"
import * as SimulatorProcess from "./simulatorProcess.js"

const from = "contacts"
const to = "companies"
const pageSize = 500
const rateLimit = "20/2s"
const simulatorLimit = "20/2000"
/** A run that takes longer is killed and counted as failed (100,000 heavy ids are ~80 M rows). */
const runTimeoutMillis = 1_800_000
const goalMB = 400
const goalWall = 1.15

const runs = Math.max(1, Number(process.env["BENCH_RUNS"] ?? "3") || 3)
const before = process.env["BENCH_MEMORY_BEFORE"]

interface Build {
  readonly name: string
  readonly executable: string
  readonly args: ReadonlyArray<string>
}

const after: Build = { name: "after", executable: cli, args: [] }
const beforeBuild: Build = before === undefined
  ? { name: "before (--memory 1TB)", executable: cli, args: ["--memory", "1TB"] }
  : { name: `before (${path.basename(path.dirname(before))})`, executable: before, args: [] }

interface Run {
  readonly code: number | null
  readonly wallMillis: number
  readonly peakMiB: number
  readonly rows: number | undefined
  readonly batchReads: number
  readonly inputs: number
  readonly status429: number
  readonly stderr: string
}

type Exit = Pick<Run, "code" | "wallMillis" | "peakMiB" | "stderr">

/** `assoc-etl export` of one build; peak RSS is the child's VmHWM, polled. */
const exportOnce = (build: Build, args: ReadonlyArray<string>): Promise<Exit> =>
  new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(process.execPath, [build.executable, "export", ...args, ...build.args], {
      env: { ...process.env, HUBSPOT_ACCESS_TOKEN: "sim-token" },
      stdio: ["ignore", "ignore", "pipe"]
    })
    let stderr = ""
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")))
    const rss = PeakRss.watch(child.pid)
    const timer = setTimeout(() => child.kill("SIGKILL"), runTimeoutMillis)
    child.once("error", reject)
    child.once("exit", (code) => {
      rss.stop()
      clearTimeout(timer)
      resolve({ code, wallMillis: performance.now() - t0, peakMiB: rss.peakKiB() / 1024, stderr })
    })
  })

/** Rows and pages of the ids' answers, from the portal's positions (no row object: 100,000 heavy ids are ~80 M). */
const truthOf = (portal: SimulatedPortal.SimulatedPortal, ids: ReadonlyArray<string>) => {
  let rows = 0
  let pages = 0
  for (const id of ids) {
    const p = portal.associationPositions(from, to, id)
    for (let k = 0; k < p.length; k++) rows += SimulatedPortal.typeCount(p.typeSet[k]!)
    pages += Math.max(1, Math.ceil(p.length / pageSize))
  }
  return { rows, pages }
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

interface Figures {
  readonly build: Build
  readonly runs: ReadonlyArray<Run>
  readonly wall: number
  readonly peakMiB: number
  readonly exact: boolean
}

const figuresOf = (build: Build, all: ReadonlyArray<Run>, truthRows: number): Figures => ({
  build,
  runs: all,
  wall: median(all.map((r) => r.wallMillis)),
  peakMiB: median(all.map((r) => r.peakMiB)),
  exact: all.every((r) => r.code === 0 && r.rows === truthRows)
})

/** The simulator with `shape` in its own process, and `ids` of its portal exported by each build in turn. */
const scenario = (
  title: string,
  options: { readonly shape: SimulatedPortal.PortalShape; readonly objects: number; readonly ids: number }
): Promise<{ readonly before: Figures; readonly after: Figures; readonly pages: number }> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const { baseUrl } = yield* SimulatorProcess.start([
      "--seed", String(seed), "--objects", String(options.objects), "--latency", latency, "--shape", options.shape,
      "--rate-limit", simulatorLimit
    ])
    const portal = SimulatedPortal.make({
      seed,
      objects: options.objects,
      types: Simulator.defaultTypes,
      shape: options.shape
    })
    return yield* Effect.promise(async () => {
      const ids = portal.ids(from).slice(0, options.ids)
      const truth = truthOf(portal, ids)
      const idsFile = writeIds(ids)
      say(`${title}: ${ids.length} ids, ${truth.rows} rows, ${truth.pages} pages of ${pageSize}`)
      const results = new Map<Build, Array<Run>>([[beforeBuild, []], [after, []]])
      for (let i = 0; i < runs; i++) {
        for (const build of [beforeBuild, after]) {
          const out = tempDir("memory")
          await reset(baseUrl)
          const exit = await exportOnce(build, [
            "--from", from, "--to", to, "--out", out, "--ids", idsFile, "--base-url", baseUrl,
            "--rate-limit", rateLimit
          ])
          const c = await counters(baseUrl)
          const run: Run = {
            ...exit,
            rows: await manifestRows(out),
            batchReads: c.batchReads,
            inputs: c.inputs,
            status429: c.status429
          }
          fs.rmSync(out, { recursive: true, force: true })
          if (run.code !== 0) say(`${build.name} exited ${run.code}: ${run.stderr.slice(-600).trim()}`)
          const memoryLine = /^\s*memory .*$/m.exec(run.stderr)?.[0]?.trim()
          say(
            `${build.name.padEnd(24)} ${seconds(run.wallMillis).padStart(8)}, peak RSS ${fmt(run.peakMiB, 0)} MiB, `,
            `${run.batchReads} batch reads (${fmt(run.inputs / Math.max(1, run.batchReads), 0)} inputs each), `,
            `${run.status429} × 429, rows ${run.rows === truth.rows ? "exact" : `WRONG (${run.rows ?? "none"})`}`,
            memoryLine === undefined ? "" : `; ${memoryLine}`
          )
          results.get(build)!.push(run)
        }
      }
      fs.rmSync(path.dirname(idsFile), { recursive: true, force: true })
      return {
        before: figuresOf(beforeBuild, results.get(beforeBuild)!, truth.rows),
        after: figuresOf(after, results.get(after)!, truth.rows),
        pages: truth.pages
      }
    })
  })))

const mb = (mib: number) => (mib * 2 ** 20) / 1e6

export const run = async (): Promise<void> => {
  const only = (process.env["BENCH_MEMORY"] ?? "").split(",").filter((x) => x.length > 0)
  const wanted = (name: string) => only.length === 0 || only.includes(name)
  const rows: Array<Row> = []
  const lines: Array<string> = []
  const line = (name: string, f: Figures, batches: number) =>
    lines.push(
      `${name.padEnd(22)} ${f.build.name.padEnd(26)} ${seconds(f.wall).padStart(8)} `
        + `${fmt(f.peakMiB, 0).padStart(6)} MiB ${String(batches).padStart(7)} ${f.exact ? "exact" : "WRONG"}`
    )
  await withTempRoot("memory", async () => {
    if (wanted("light")) {
      const title = "light, 100,000 ids"
      console.log(title)
      const r = await scenario(title, { shape: "typical", objects: 100_000, ids: 100_000 })
      const batches = (f: Figures) => median(f.runs.map((x) => x.batchReads))
      line(title, r.before, batches(r.before))
      line(title, r.after, batches(r.after))
      rows.push({
        scenario: `${title}: no regression`,
        figure: `wall ${seconds(r.after.wall)} / ${seconds(r.before.wall)} = ${fmt(r.after.wall / r.before.wall, 2)}, `
          + `peak ${fmt(r.after.peakMiB, 0)} / ${fmt(r.before.peakMiB, 0)} MiB, `
          + `batch reads ${batches(r.after)} / ${batches(r.before)} (fewest ${Math.ceil(r.pages / 1000)})`,
        goal: "batch reads ≤ before, peak and wall ≤ 1.1 × before",
        met: r.after.exact && batches(r.after) <= batches(r.before)
          && r.after.peakMiB <= 1.1 * r.before.peakMiB && r.after.wall <= 1.1 * r.before.wall
      })
    }
    const heavyPeaks: Array<number> = []
    for (const n of [10_000, 100_000]) {
      const name = `heavy${n / 1000}k`
      if (!wanted(name)) continue
      const title = `heavy, ${n.toLocaleString("en-US")} ids`
      console.log(title)
      const r = await scenario(title, { shape: "heavy", objects: 100_000, ids: n })
      line(title, r.before, median(r.before.runs.map((x) => x.batchReads)))
      line(title, r.after, median(r.after.runs.map((x) => x.batchReads)))
      heavyPeaks.push(r.after.peakMiB)
      const ratio = r.after.wall / r.before.wall
      rows.push({
        scenario: `${title}: peak RSS`,
        figure: `${fmt(mb(r.after.peakMiB), 0)} MB (${fmt(r.after.peakMiB, 0)} MiB; before ${
          fmt(mb(r.before.peakMiB), 0)} MB)`,
        goal: `≤ ${goalMB} MB`,
        met: r.after.exact && mb(r.after.peakMiB) <= goalMB
      })
      rows.push({
        scenario: `${title}: wall`,
        figure: `${seconds(r.after.wall)} / ${seconds(r.before.wall)} = ${fmt(ratio, 2)}`,
        goal: `≤ ${goalWall} × before`,
        met: r.after.exact && ratio <= goalWall
      })
    }
    if (heavyPeaks.length === 2) {
      rows.push({
        scenario: "heavy: flat",
        figure: `100k ÷ 10k peak = ${fmt(heavyPeaks[1]! / heavyPeaks[0]!, 2)}`,
        goal: "≤ 1.15",
        met: heavyPeaks[1]! / heavyPeaks[0]! <= 1.15
      })
    }
  })
  console.log(`memory: medians of ${runs} run${runs === 1 ? "" : "s"} each, before and after alternating`)
  console.log(
    `${"scenario".padEnd(22)} ${"build".padEnd(26)} ${"wall".padStart(8)} ${"peak".padStart(10)} `
      + `${"batches".padStart(7)} rows`
  )
  for (const l of lines) console.log(l)
  console.log(table(rows))
}
