/**
 * Issue 18's fleet, through the built CLI: 12 portals (simulator processes, each with its own token and its own
 * rate limit, the job's limit for it the same), one job submitted with `fleet submit --wait` to a fleet of 1, 2 and
 * then 3 workers (`fleet worker`, each a process) on a PostgreSQL of the bench's own. Figures: the job's wall time
 * against its floor (the busiest portal's requests ÷ its limit: no fleet can be faster), rows/s in all and per
 * worker, the speed-up over one worker, and the CPU the workers and the rest of the machine used.
 *
 * Twice: each portal at 5 requests a second, where the limits bind (the floor is the job's time, whatever the
 * workers), then at 20, where they do not on two cores (the simulated HubSpot, 12 processes, takes its share of
 * them): where the machine's CPU stops the scaling.
 *
 * `node bench/dist/main.js fleet`; BENCH_FLEET_PORTALS (default 12), BENCH_FLEET_OBJECTS (contacts a portal,
 * default 3000), BENCH_FLEET_LIMITS (requests a second each portal allows, one run each, default 5,20),
 * BENCH_FLEET_RUNNERS (default 1,2,3), BENCH_FLEET_WORKER_FLAGS (more flags of every worker).
 */
import { SimulatedPortal, Simulator } from "@assoc-etl/simulator"
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import {
  cli,
  counters,
  ended,
  fmt,
  manifestRows,
  reset,
  type Row,
  say,
  seconds,
  startCli,
  table,
  tempDir,
  truthOf,
  withTempRoot
} from "./cliRuns.js"
import * as PostgresProcess from "./postgresProcess.js"
import * as SimulatorProcess from "./simulatorProcess.js"

const portals = Number(process.env["BENCH_FLEET_PORTALS"] ?? 12)
const objects = Number(process.env["BENCH_FLEET_OBJECTS"] ?? 3000)
const limits = (process.env["BENCH_FLEET_LIMITS"] ?? "5,20").split(",").map(Number)
const runnerCounts = (process.env["BENCH_FLEET_RUNNERS"] ?? "1,2,3").split(",").map(Number)
/** More flags of every worker (`--lock-expiration 12s`, say). */
const workerFlags = (process.env["BENCH_FLEET_WORKER_FLAGS"] ?? "").split(" ").filter((f) => f !== "")
/** Small batches: a portal's export is many requests, and its limit binds. */
const batchSize = 20
const latency = "50-150"
const pageSize = 500
const firstSeed = 100

// ---------------------------------------------------------------------------------------------------------------
// CPU, from /proc: clock ticks of processes and of the machine

const ticksPerSecond = 100

/** User + system ticks of a process so far (0 once it has exited). */
const processTicks = (pid: number | undefined): number => {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return 0
  }
}

/** The machine's busy and total ticks so far, all cores. */
const machineTicks = (): { readonly busy: number; readonly total: number } => {
  const cpu = fs.readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number)
  const total = cpu.reduce((a, b) => a + b, 0)
  return { busy: total - cpu[3]! - cpu[4]!, total }
}

// ---------------------------------------------------------------------------------------------------------------
// Workers

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

/** `assoc-etl fleet worker` until the scope closes (SIGTERM, awaited); ready once it says so. */
const startWorker = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const port = await freePort()
      const args = [cli, "fleet", "worker", "--port", String(port), ...workerFlags]
      const child: ChildProcess = spawn(process.execPath, args, {
        env: { ...process.env, ...env },
        stdio: ["ignore", "ignore", "pipe"]
      })
      let stderr = ""
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
      await new Promise<void>((resolve, reject) => {
        child.stderr!.on("data", (d: Buffer) => {
          stderr += d.toString("utf8")
          if (stderr.includes("a runner of the fleet")) resolve()
        })
        child.once("exit", (code) => reject(new Error(`a worker exited ${code} before it served: ${stderr}`)))
      })
      return { child, exited, stderr: () => stderr }
    }),
    (w) =>
      Effect.promise(() => {
        w.child.kill("SIGTERM")
        return w.exited
      })
  )

// ---------------------------------------------------------------------------------------------------------------
// The portals and the job

interface Portal {
  readonly name: string
  readonly seed: number
  readonly tokenEnv: string
  readonly token: string
  readonly baseUrl: string
  /** Rows of its contacts → companies, the ground truth. */
  readonly rows: number
}

const startPortals = (perSecond: number) => Effect.forEach(
  Array.from({ length: portals }, (_, i) => i),
  (i) =>
    Effect.gen(function*() {
      const seed = firstSeed + i
      const token = `fleet-bench-token-${seed}`
      const { baseUrl } = yield* SimulatorProcess.start([
        "--seed", String(seed), "--objects", String(objects), "--latency", latency, "--token", token,
        "--rate-limit", `${perSecond}/1000`
      ])
      const portal = SimulatedPortal.make({ seed, objects, types: Simulator.defaultTypes, shape: "typical" })
      const truth = truthOf(portal, { from: "contacts", to: "companies" }, portal.ids("contacts"), pageSize)
      return { name: `portal-${i + 1}`, seed, tokenEnv: `FLEET_BENCH_TOKEN_${seed}`, token, baseUrl, rows: truth.rows }
    }),
  { concurrency: 4 }
)

const writeJob = (id: string, root: string, all: ReadonlyArray<Portal>, perSecond: number): string => {
  const file = path.join(root, `${id}.json`)
  const exports = all.map((p) => ({
    portal: p.name,
    tokenEnv: p.tokenEnv,
    baseUrl: p.baseUrl,
    pairs: ["contacts:companies"],
    out: path.join(root, "out", p.name),
    rateLimit: `${perSecond}/1s`,
    batchSize
  }))
  fs.writeFileSync(file, JSON.stringify({ id, exports }, null, 2))
  return file
}

interface Figures {
  readonly runners: number
  readonly wallMillis: number
  readonly floorMillis: number
  readonly rows: number
  readonly exact: boolean
  readonly status429: number
  /** Cores the workers used in all, on average over the job. */
  readonly workerCores: number
  /** The machine's busy share of all its cores over the job. */
  readonly machineBusy: number
  readonly spread: string
}

/** One job on a fresh fleet of `runners` workers, on a PostgreSQL of its own. */
const scenario = (runners: number, all: ReadonlyArray<Portal>, perSecond: number) =>
  Effect.scoped(Effect.gen(function*() {
    const pg = yield* PostgresProcess.start
    const env: Record<string, string> = { ASSOC_ETL_DATABASE_URL: pg.url }
    for (const p of all) env[p.tokenEnv] = p.token
    const workers = yield* Effect.forEach(Array.from({ length: runners }), () => startWorker(env))
    // The simulators' windows hold the last run's requests for a second: let them pass.
    yield* Effect.promise(() => Promise.all(all.map((p) => reset(p.baseUrl))))
    yield* Effect.sleep("2 seconds")
    const root = tempDir(`fleet-${runners}`)
    const job = writeJob(`bench-${runners}`, root, all, perSecond)

    const pids = workers.map((w) => w.child.pid)
    const cpu0 = pids.map(processTicks)
    const machine0 = machineTicks()
    const exit = yield* Effect.promise(() => startCli(["fleet", "submit", job, "--wait"], env).exited)
    const cpu1 = pids.map(processTicks)
    const machine1 = machineTicks()

    const rows = yield* Effect.promise(() =>
      Promise.all(all.map((p) => manifestRows(path.join(root, "out", p.name, "contacts-companies"))))
    )
    const seen = yield* Effect.promise(() => Promise.all(all.map((p) => counters(p.baseUrl))))
    const exact = exit.code === 0 && rows.every((r, i) => r === all[i]!.rows)
    // Which worker ran how many portals: the "starts on" lines of its log.
    const spread = workers.map((w) => (w.stderr().match(/export of portal \S+ \(job [^)]+\) starts/g) ?? []).length)
    const count = (pattern: RegExp) => workers.reduce((n, w) => n + (w.stderr().match(pattern) ?? []).length, 0)
    say(`  restarts: ${spread.reduce((a, b) => a + b, 0) - all.length} (workers' lock storage found unhealthy `
      + `${count(/Shard lock storage is unhealthy/g)} times; exports sent again after an interruption `
      + `${count(/was interrupted on its runner/g)} times)`)
    const seconds_ = exit.wallMillis / 1000
    say(`${runners} worker${runners === 1 ? "" : "s"}: submit --wait ${ended(exit)}, ${seconds(exit.wallMillis)}; `
      + `portals a worker: ${spread.join(", ")}`)
    return {
      runners,
      wallMillis: exit.wallMillis,
      floorMillis: Math.max(...seen.map((c) => c.requests)) / perSecond * 1000,
      rows: rows.reduce<number>((n, r) => n + (r ?? 0), 0),
      exact,
      status429: seen.reduce((n, c) => n + c.status429, 0),
      workerCores: cpu1.reduce((n, t, i) => n + t - cpu0[i]!, 0) / ticksPerSecond / seconds_,
      machineBusy: (machine1.busy - machine0.busy) / (machine1.total - machine0.total),
      spread: spread.join("/")
    } satisfies Figures
  }))

const pad = (cells: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)))
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join(" | ")).join("\n")
}

/** The 12 portals at `perSecond` each, on 1, 2 and 3 workers: a table, and the goals' rows. */
const atLimit = (perSecond: number) =>
  withTempRoot(`fleet-${perSecond}`, () =>
    Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const all = yield* startPortals(perSecond)
      const rows = all.reduce((n, p) => n + p.rows, 0)
      console.log(`${portals} portals at ${perSecond} requests a second each`)
      say(`${portals} portals of ${objects} contacts (${rows} rows of contacts → companies in all), each limited to `
        + `${perSecond} requests a second, the job's limit for it the same; batches of ${batchSize} ids; latency `
        + `${latency} ms; ${os.cpus().length} cores`)
      const figures: Array<Figures> = []
      for (const runners of runnerCounts) figures.push(yield* scenario(runners, all, perSecond))
      const one = figures.find((f) => f.runners === 1) ?? figures[0]!
      console.log(pad([
        [
          "workers", "wall", "floor", "rows", "rows/s", "rows/s a worker", "× 1 worker", "workers' CPU",
          "workers' CPU a row", "machine CPU", "the rest (simulators, PostgreSQL)", "portals a worker", "429s", "exact"
        ],
        ...figures.map((f) => {
          const rate = f.rows / (f.wallMillis / 1000)
          return [
            String(f.runners),
            seconds(f.wallMillis),
            seconds(f.floorMillis),
            String(f.rows),
            fmt(rate, 0),
            fmt(rate / f.runners, 0),
            fmt(one.wallMillis / f.wallMillis),
            `${fmt(f.workerCores)} cores`,
            `${fmt(f.workerCores * f.wallMillis * 1000 / f.rows, 1)} µs`,
            `${fmt(f.machineBusy * 100, 0)}%`,
            `${fmt(f.machineBusy * os.cpus().length - f.workerCores)} cores`,
            f.spread,
            String(f.status429),
            f.exact ? "yes" : "NO"
          ]
        })
      ]).split("\n").map((l) => `  ${l}`).join("\n"))
      return figures.map((f): Row => ({
        scenario: `${f.runners} worker${f.runners === 1 ? "" : "s"}, ${portals} portals at ${perSecond}/s`,
        figure: `${f.exact ? "every dataset exact" : "a dataset NOT exact"}, ${f.status429} × 429, wall ${
          fmt(f.wallMillis / f.floorMillis)
        }× the floor`,
        goal: "exact, 0 × 429",
        met: f.exact && f.status429 === 0
      }))
    })))
  )

export const run = async (): Promise<void> => {
  const goals: Array<Row> = []
  for (const perSecond of limits) goals.push(...await atLimit(perSecond))
  console.log("fleet: issue 18's goals (met = every dataset exact and no portal's limit overrun)")
  console.log(table(goals))
}
