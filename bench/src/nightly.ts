/**
 * Issue 16's nightly-job goals, through the built CLI against the simulator in its own process (latency
 * 100-300 ms, the simulator's and the CLI's limit both HubSpot's smallest, 100 per 10 s):
 *
 * 1. a nightly snapshot chained to the night before (`--ids-from`: the night before's ids plus the objects
 *    modified since, through search) against a full listing, on the portal's version 1 (1% of objects archived,
 *    1% added, 2% with changed associations): requests on each budget, wall time, rows exact;
 * 2. three pairs in one job (`--pairs`, one budget, each --from type listed once) against three processes, one a
 *    pair, started together, each with the whole limit (what a user without --pairs runs): wall time, 429s,
 *    requests ÷ the fewest the pairs need.
 *
 * `node bench/dist/main.js nightly`; BENCH_NIGHTLY_OBJECTS (default 100000) sets scenario 1's contacts,
 * BENCH_NIGHTLY_JOB_OBJECTS (default 10000) scenario 2's objects a type.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import {
  counters,
  type Counters,
  ended,
  type Exit,
  fmt,
  manifestRows,
  reset,
  type Row,
  rowsCheck,
  say,
  seconds,
  startCli,
  table,
  tempDir,
  truthOf,
  withSimulator,
  withTempRoot
} from "./cliRuns.js"

const limit = "100/10s"
/** The same limit as the simulator's bin spells it: max/window millis. */
const simulatorLimit = "100/10000"
const hour = 3_600_000
const pageSize = 500

/** The 10-second budget's requests of a run: every request but search's (which HubSpot limits on its own). */
const onTenSecondBudget = (c: Counters): number => c.requests - c.searchRequests

const exportArgs = (baseUrl: string, out: string, ...more: ReadonlyArray<string>) => [
  "export", "--out", out, "--base-url", baseUrl, "--rate-limit", limit, ...more
]

/** Sets back when a finished export says it started, as if the night before had run `millis` earlier. */
const startedEarlier = (dir: string, millis: number) => {
  const file = path.join(dir, "manifest.json")
  const manifest = JSON.parse(fs.readFileSync(file, "utf8")) as { startedAt: string }
  manifest.startedAt = new Date(Date.parse(manifest.startedAt) - millis).toISOString()
  fs.writeFileSync(file, JSON.stringify(manifest))
}

const requestsLine = (c: Counters) =>
  `${c.requests} requests: ${c.batchReads} batch reads, ${c.listRequests} lists, ${c.searchRequests} searches, ${
    c.requests - c.batchReads - c.listRequests - c.searchRequests
  } other; ${c.status429} × 429`

/** 1. Chained to the night before vs listing everything, on the changed portal. */
const chained = (objects: number): Promise<ReadonlyArray<Row>> =>
  withTempRoot("nightly-1", async () => {
    const pair = ["--from", "contacts", "--to", "companies"]
    // The night before: version 0, listed. Its manifest then says it started 3 hours ago; the portal changed in
    // the hour before the hour before now.
    const night1 = tempDir("night1")
    const first = await withSimulator({ objects, flags: ["--rate-limit", simulatorLimit] }, (sim) =>
      startCli(exportArgs(sim.baseUrl, night1, ...pair)).exited)
    say(`the night before (version 0, listed): ${ended(first)}, ${seconds(first.wallMillis)}`)
    startedEarlier(night1, 3 * hour)
    const changedAt = Date.now() - hour
    return withSimulator(
      { objects, flags: ["--rate-limit", simulatorLimit], version: { version: 1, changedAt } },
      async (sim) => {
        const ids = sim.portal.ids("contacts")
        const truth = truthOf(sim.portal, { from: "contacts", to: "companies" }, ids, pageSize)
        const changes = sim.portal.changes("contacts")
        say(
          `version 1: ${ids.length} contacts (${changes.archived.length} archived, ${changes.added.length} added, `,
          `${changes.changedVisibly.length + changes.changedSilently.length} with changed associations), `,
          `${truth.rows} rows, ${truth.continuations} continuation pages, longest chain ${truth.longestChain}`
        )
        const run = async (name: string, ...more: ReadonlyArray<string>) => {
          const out = tempDir(name)
          await reset(sim.baseUrl)
          const exit = await startCli(exportArgs(sim.baseUrl, out, ...pair, ...more)).exited
          const c = await counters(sim.baseUrl)
          const rows = await manifestRows(out)
          say(`${name}: ${ended(exit)}, ${rowsCheck(rows, truth.rows)}, ${seconds(exit.wallMillis)}; ${requestsLine(c)}`)
          fs.rmSync(out, { recursive: true, force: true })
          return { exit, c, rows }
        }
        const chainedRun = await run("chained", "--ids-from", night1)
        const listed = await run("listed")
        const fewest = Math.ceil(ids.length / 1000)
        const budget = onTenSecondBudget(chainedRun.c)
        // Chained runs end in 3: the archived contacts of the night before are refused (OBJECT_NOT_FOUND).
        const okChained = chainedRun.exit.code === 3 && chainedRun.rows === truth.rows
        const okListed = listed.exit.code === 0 && listed.rows === truth.rows
        return [
          {
            scenario: `1. chained, ${ids.length} contacts`,
            figure: `${budget} requests on the 10 s budget (${chainedRun.c.batchReads} batch reads), ${
              chainedRun.c.searchRequests} searches; ${seconds(chainedRun.exit.wallMillis)}, rows ${
              okChained ? "exact" : "WRONG"}`,
            goal: `≤ 1.1 × ceil(N ÷ 1000) = ${fmt(1.1 * fewest, 1)}`,
            met: okChained && budget <= 1.1 * fewest
          },
          {
            scenario: `1. listed, ${ids.length} contacts`,
            figure: `${onTenSecondBudget(listed.c)} requests (${listed.c.listRequests} lists); ${
              seconds(listed.exit.wallMillis)} = ${fmt(listed.exit.wallMillis / chainedRun.exit.wallMillis, 1)} × the chained run's`,
            goal: "(the baseline)",
            met: okListed
          }
        ]
      }
    )
  })

const pairs = [["contacts", "companies"], ["contacts", "deals"], ["deals", "companies"]] as const

/** 2. Three pairs: one job on one budget vs three processes, one a pair, each believing it has the limit. */
const threePairs = (objects: number): Promise<ReadonlyArray<Row>> =>
  withTempRoot("nightly-2", () =>
    withSimulator({ objects, flags: ["--rate-limit", simulatorLimit] }, async (sim) => {
      const truths = pairs.map(([from, to]) => truthOf(sim.portal, { from, to }, sim.portal.ids(from), pageSize))
      const rows = truths.reduce((n, t) => n + t.rows, 0)
      // The fewest requests the three pairs need: each --from type listed once (from both ends: a list page of
      // 100 and a search page of 200 a step), every id and continuation in full batches (and never fewer than an
      // id's chain of pages), one labels catalogue a pair, the portal's id once.
      const lists = [...new Set(pairs.map(([from]) => from))].reduce((n, t) => n + 2 * Math.ceil(sim.portal.size(t) / 300), 0)
      const batches = truths.reduce((n, t) => n + Math.max(Math.ceil(t.pages / 1000), t.longestChain), 0)
      const fewest = lists + batches + pairs.length + 1
      say(`${objects} objects a type, ${rows} rows in 3 pairs; the fewest requests: ${lists} lists and searches + ${batches} batch reads + 3 labels + 1 account = ${fewest}`)

      const root = tempDir("job")
      await reset(sim.baseUrl)
      const job = await startCli(exportArgs(sim.baseUrl, root, "--pairs", pairs.map(([f, t]) => `${f}:${t}`).join(","))).exited
      const jc = await counters(sim.baseUrl)
      const jobRows = await Promise.all(pairs.map(([f, t]) => manifestRows(path.join(root, `${f}-${t}`))))
      const jobExact = jobRows.every((r, i) => r === truths[i]!.rows)
      say(`one job: ${ended(job)}, rows ${jobExact ? "exact" : "WRONG"}, ${seconds(job.wallMillis)}; ${requestsLine(jc)}`)

      await reset(sim.baseUrl)
      const started = performance.now()
      const outs = pairs.map(([f, t]) => tempDir(`${f}-${t}`))
      const separate: ReadonlyArray<Exit> = await Promise.all(
        pairs.map(([f, t], i) => startCli(exportArgs(sim.baseUrl, outs[i]!, "--from", f, "--to", t)).exited)
      )
      const wall = performance.now() - started
      const sc = await counters(sim.baseUrl)
      const sepRows = await Promise.all(outs.map((o) => manifestRows(o)))
      const sepExact = sepRows.every((r, i) => r === truths[i]!.rows)
      say(
        `three processes: ${separate.map(ended).join(", ")}, rows ${sepExact ? "exact" : "WRONG"}, ${seconds(wall)}; `,
        requestsLine(sc)
      )
      return [
        {
          scenario: "2. three pairs, one job",
          figure: `${seconds(job.wallMillis)}, ${jc.status429} × 429, ${fmt(jc.requests / fewest, 3)} × the fewest requests`,
          goal: "0 × 429; fewer requests and less time than 3 processes",
          met: job.code === 0 && jobExact && jc.status429 === 0 && jc.requests < sc.requests && job.wallMillis < wall
        },
        {
          scenario: "2. three processes",
          figure: `${seconds(wall)} (${fmt(wall / job.wallMillis, 2)} × the job's), ${sc.status429} × 429, ${
            fmt(sc.requests / fewest, 3)} × the fewest requests`,
          goal: "(the baseline)",
          met: separate.every((e) => e.code === 0) && sepExact
        }
      ]
    }))

export const run = async (): Promise<void> => {
  const objects = Number(process.env["BENCH_NIGHTLY_OBJECTS"] ?? 100_000)
  const jobObjects = Number(process.env["BENCH_NIGHTLY_JOB_OBJECTS"] ?? 10_000)
  const rows: Array<Row> = []
  for (const [title, body] of [
    ["1. a nightly snapshot chained to the night before, against a full listing", () => chained(objects)],
    ["2. three pairs: one job on one budget, against three processes", () => threePairs(jobObjects)]
  ] as const) {
    console.log(title)
    const started = performance.now()
    const these = await body()
    rows.push(...these)
    console.log(table(these).split("\n").map((l) => `  ${l}`).join("\n"))
    console.log(`  (${seconds(performance.now() - started)})`)
  }
  console.log("nightly: the goals of issue 16 (met = the goal, and every dataset exact)")
  console.log(table(rows))
}
