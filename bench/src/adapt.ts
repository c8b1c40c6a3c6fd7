/**
 * Issue 15's "adapt to the server" goals, measured through the built CLI (`assoc-etl export`, a child process)
 * against the simulator in its own process (`simulatorProcess.ts`), latency 100-300 ms as in `versus`, contacts
 * → companies, the simulator's default seed (1) and types:
 *
 * 1. a server that takes 100 inputs a batch (`--max-inputs 100`) while the CLI sends 1000;
 * 2. a server limit (20 / 2 s) below the CLI's `--rate-limit 100/10s`;
 * 3. restarts: 20 runs killed with SIGKILL after ~20 arrivals each, each rerun at once, then one run to the end;
 * 4. fuller batches when the ids come from the listing API (no `--ids`);
 * 5. heavy tails (`--shape heavyTail --page-size 100`): batch requests against a lower bound;
 * 6. resuming a Parquet (and an NDJSON) part of over 1,000,000 rows: the rerun's spawn to its first request.
 *
 * Requests, 429s, batch reads, their inputs and arrival times are the simulator's (`GET /__sim/counters`); the
 * expected rows are `SimulatedPortal.groundTruth`'s count, from the same seeded portal in this process. Each
 * scenario runs once and prints one row (figure, goal, met); a summary of all rows ends the run. A goal counts as
 * met only if the run also exits 0 with the ground truth's rows.
 *
 * `node bench/dist/main.js adapt`; `BENCH_ADAPT=1,3` runs only those scenarios.
 */
import { Schema } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import {
  type Counters,
  counters,
  ended,
  type Exit,
  fmt,
  manifestRows,
  reset,
  type Row,
  rowsCheck,
  say,
  seconds,
  type Sim,
  sleep,
  startCli,
  table,
  tempDir,
  truthOf as truthOfPair,
  withSimulator,
  withTempRoot,
  writeIds
} from "./cliRuns.js"

/** The simulator's defaults: page size, batch inputs. */
const defaultPageSize = 500
const maxBatch = 1000
const from = "contacts"
const to = "companies"
const truthOf = (portal: Sim["portal"], ids: ReadonlyArray<string>, pageSize: number) =>
  truthOfPair(portal, { from, to }, ids, pageSize)

const exportArgs = (baseUrl: string, out: string, extra: ReadonlyArray<string>): ReadonlyArray<string> => [
  "export", "--from", from, "--to", to, "--out", out, "--base-url", baseUrl, ...extra
]

const arrivalsOf = (c: Counters): number => c.arrivals.length + c.arrivalsDropped

/** The batch sizes the CLI says it lowered to (its WARN lines), in order. */
const loweredTo = (stderr: string): ReadonlyArray<number> =>
  [...stderr.matchAll(/batch size lowered to (\d+)/g)].map((m) => Number(m[1]))

// ---------------------------------------------------------------------------------------------------------------
// The simulator, the ground truth, the dataset

/**
 * Requests the simulator refused with 400: every request that reached it, less the answers of 200/207 (batch
 * read, list, search, account info) and the 429s. With a valid token, known paths and no faults configured,
 * what is left is the VALIDATION_ERRORs.
 */
const refused400 = (c: Counters): number =>
  c.requests - c.batchReads - c.listRequests - c.searchRequests - c.accountInfoRequests - c.labelsRequests - c.status429

/** The listing's first page must be the portal's first ids: the simulator process and this portal agree. */
const checkSamePortal = async (sim: Sim): Promise<void> => {
  const answer = await fetch(`${sim.baseUrl}/crm/v3/objects/${from}?limit=100`, {
    headers: { authorization: "Bearer sim-token" }
  })
  const body = (await answer.json()) as { readonly results: ReadonlyArray<{ readonly id: string }> }
  const listed = body.results.map((r) => r.id).join(",")
  if (listed !== sim.portal.ids(from).slice(0, 100).join(",")) {
    throw new Error("the simulator's contacts are not this portal's: seed or types differ")
  }
}

/** The part of `.checkpoint.json` this bench reads: rows in the open part. */
const OpenRows = Schema.parseJson(Schema.Struct({
  dataset: Schema.Struct({ open: Schema.Struct({ rows: Schema.Number }) })
}))
const decodeOpenRows = Schema.decodeUnknownOption(OpenRows)

const openRows = (out: string): number | undefined => {
  let text: string
  try {
    text = fs.readFileSync(path.join(out, ".checkpoint.json"), "utf8")
  } catch {
    return undefined
  }
  const decoded = decodeOpenRows(text)
  return decoded._tag === "Some" ? decoded.value.dataset.open.rows : undefined
}

// ---------------------------------------------------------------------------------------------------------------
// Rows of the tables

// ---------------------------------------------------------------------------------------------------------------
// The scenarios

/** 1. The server takes 100 inputs a batch; the CLI starts at 1000. */
const smallerBatchLimit = (): Promise<Row> =>
  withSimulator({ objects: 10_000, flags: ["--max-inputs", "100"] }, async (sim) => {
    await checkSamePortal(sim)
    const ids = sim.portal.ids(from).slice(0, 10_000)
    const truth = truthOf(sim.portal, ids, defaultPageSize)
    const out = tempDir("s1")
    await reset(sim.baseUrl)
    const exit = await startCli(exportArgs(sim.baseUrl, out, ["--ids", writeIds(ids)])).exited
    const c = await counters(sim.baseUrl)
    const rows = await manifestRows(out)
    const denominator = Math.ceil(ids.length / 100) + truth.continuations
    const ratio = c.batchReads / denominator
    const fewest = Math.ceil((ids.length + truth.continuations) / 100)
    say(
      `simulator --max-inputs 100, CLI defaults (batch 1000), ${ids.length} ids: `,
      `${ended(exit)}, ${rowsCheck(rows, truth.rows)}, ${seconds(exit.wallMillis)}`
    )
    say(
      `${refused400(c)} requests refused with 400; `,
      `batch sizes the CLI lowered to: ${loweredTo(exit.stderr).join(", ") || "none"}`
    )
    say(
      `batch reads ${c.batchReads} / (ceil(${ids.length} / 100) + ${truth.continuations} continuations`,
      ` = ${denominator}) = ${fmt(ratio, 3)}`
    )
    say(
      `${c.inputs} inputs in answered batches, ${fmt(c.inputs / c.batchReads, 1)} a batch (the server takes 100); `,
      `fewest batches ceil((${ids.length} + ${truth.continuations}) / 100) = ${fewest}: `,
      `${fmt(c.batchReads / fewest, 3)} of it`
    )
    fs.rmSync(out, { recursive: true, force: true })
    return {
      scenario: "1. server takes 100 a batch",
      figure: `${ended(exit)}, rows ${rows === truth.rows ? "exact" : "WRONG"}, ${refused400(c)} × 400, batches ${
        c.batchReads} / ${denominator} = ${fmt(ratio, 3)}`,
      goal: "exit 0, rows exact, ratio ≤ 1",
      met: exit.code === 0 && rows === truth.rows && ratio <= 1
    }
  })

/** 2. The server allows 20 / 2 s; the CLI is told 100/10s (HubSpot's default). */
const lowerServerLimit = (): Promise<Row> =>
  withSimulator({ objects: 30_000, flags: ["--rate-limit", "20/2000"] }, async (sim) => {
    const ids = sim.portal.ids(from).slice(0, 30_000)
    const truth = truthOf(sim.portal, ids, defaultPageSize)
    const out = tempDir("s2")
    await reset(sim.baseUrl)
    const exit = await startCli(exportArgs(sim.baseUrl, out, [
      "--ids", writeIds(ids), "--rate-limit", "100/10s", "--batch-size", "100"
    ])).exited
    const c = await counters(sim.baseUrl)
    const rows = await manifestRows(out)
    const floor = Math.floor(Math.max(0, arrivalsOf(c) - 1) / 20) * 2000
    say(
      `simulator 20/2000, CLI --rate-limit 100/10s --batch-size 100, ${ids.length} ids: `,
      `${ended(exit)}, ${rowsCheck(rows, truth.rows)}`
    )
    say(
      `${c.requests} requests (${c.batchReads} batch reads), ${c.status429} × 429, `,
      `at most ${c.maxInWindow} in a rolling 2 s (server allows 20); wall ${seconds(exit.wallMillis)}, `,
      `the server limit's floor for ${arrivalsOf(c)} arrivals ${seconds(floor)}`
    )
    fs.rmSync(out, { recursive: true, force: true })
    return {
      scenario: "2. server limit below flag",
      figure: `${c.status429} × 429 in ${c.requests} requests, wall ${seconds(exit.wallMillis)}, ${ended(exit)}`,
      goal: "≤ 3 × 429",
      met: exit.code === 0 && rows === truth.rows && c.status429 <= 3
    }
  })

/** 3. 20 runs killed with SIGKILL after ~20 arrivals each, each rerun at once; the 21st runs to the end. */
const restarts = (): Promise<Row> =>
  withSimulator({ objects: 30_000, flags: ["--rate-limit", "100/10000"] }, async (sim) => {
    const kills = 20
    const arrivalsPerRun = 20
    const ids = sim.portal.ids(from).slice(0, 30_000)
    const truth = truthOf(sim.portal, ids, defaultPageSize)
    const out = tempDir("s3")
    const args = exportArgs(sim.baseUrl, out, ["--ids", writeIds(ids), "--batch-size", "100"])
    await reset(sim.baseUrl)
    const t0 = performance.now()
    const perRun: Array<{ readonly arrivals: number; readonly status429: number }> = []
    let before = await counters(sim.baseUrl)
    let endedEarly: Exit | undefined
    for (let k = 0; k < kills && endedEarly === undefined; k++) {
      const base = arrivalsOf(before)
      const run = startCli(args)
      while (run.exit() === undefined && arrivalsOf(await counters(sim.baseUrl)) - base < arrivalsPerRun) {
        await sleep(20)
      }
      run.kill()
      const exit = await run.exited
      if (exit.signal !== "SIGKILL") endedEarly = exit
      const after = await counters(sim.baseUrl)
      perRun.push({ arrivals: arrivalsOf(after) - base, status429: after.status429 - before.status429 })
      before = after
    }
    const last = startCli(args)
    const exit = await last.exited
    const c = await counters(sim.baseUrl)
    const rows = await manifestRows(out)
    const killed = perRun.length - (endedEarly === undefined ? 0 : 1)
    const perRestart = c.status429 / kills
    if (endedEarly !== undefined) say(`a run ended by itself before its kill: ${ended(endedEarly)}`)
    say(
      `simulator 100/10000, CLI defaults --batch-size 100, ${ids.length} ids, ${killed} runs killed: `,
      `${ended(exit)} at the end, ${rowsCheck(rows, truth.rows)}, ${seconds(performance.now() - t0)} in all`
    )
    say(`arrivals per killed run: ${perRun.map((r) => r.arrivals).join(" ")}`)
    const lastRun429 = c.status429 - before.status429
    say(`429s per killed run:     ${perRun.map((r) => r.status429).join(" ")}; last run ${lastRun429}`)
    say(
      `${c.requests} requests in all (${c.batchReads} batch reads answered; `,
      `one run alone needs about ${Math.ceil(truth.pages / 100)}), at most ${c.maxInWindow} in a rolling 10 s`
    )
    fs.rmSync(out, { recursive: true, force: true })
    return {
      scenario: "3. 20 × kill -9 and rerun",
      figure: `${c.status429} × 429 / ${kills} restarts = ${fmt(perRestart)}, ${ended(exit)}, rows ${
        rows === truth.rows ? "exact" : "WRONG"}`,
      goal: "≤ 1 × 429 a restart",
      met: exit.code === 0 && rows === truth.rows && killed === kills && perRestart <= 1
    }
  })

/**
 * 4. No `--ids`: every contact is listed through the API (20,000, in pages of 100), then read in batches.
 *
 * What is counted: the simulator's answered batch reads (B) and the inputs in them (I), the latter counting an
 * input with a cursor too. The fewest batch reads the export can make is
 * max(ceil((ids + continuations) ÷ 1000), longest chain of pages of one id), continuations being the inputs with a
 * cursor that the ground truth requires (Σ over ids of pages − 1, pages of 500): every batch full, fresh ids and
 * cursors together, and no id's next page before its previous answer; B ÷ that is printed. The goal is
 * "≤ 1.05 × ceil(ids ÷ 1000) plus continuations": the requests for continuations are at least the longest
 * chain's pages after the first (an id of the last batch of fresh ids has its next pages asked one after another,
 * after that batch), so the goal checked is B ≤ 1.05 × ceil(ids ÷ 1000) + (longest chain − 1). The server's
 * counters cannot tell a batch of cursors only from one with fresh ids; inputs a batch (I ÷ B) shows how full the
 * batches were.
 */
const fullerBatches = (): Promise<Row> =>
  withSimulator({ objects: 20_000, flags: [] }, async (sim) => {
    const ids = sim.portal.ids(from)
    const truth = truthOf(sim.portal, ids, defaultPageSize)
    const out = tempDir("s4")
    await reset(sim.baseUrl)
    const exit = await startCli(exportArgs(sim.baseUrl, out, [])).exited
    const c = await counters(sim.baseUrl)
    const rows = await manifestRows(out)
    const byInputs = Math.ceil((ids.length + truth.continuations) / maxBatch)
    const minimum = Math.max(byInputs, truth.longestChain)
    const ratio = c.batchReads / minimum
    const bound = 1.05 * Math.ceil(ids.length / maxBatch) + truth.longestChain - 1
    say(
      `simulator 20,000 objects, default limits, CLI defaults without --ids: ${ended(exit)}, `,
      `${rowsCheck(rows, truth.rows)}, ${seconds(exit.wallMillis)}, ${c.status429} × 429`
    )
    say(
      `${c.listRequests} list requests, ${c.batchReads} batch reads holding ${c.inputs} inputs `,
      `(${fmt(c.inputs / c.batchReads, 1)} a batch; ${ids.length} ids + ${truth.continuations} continuations)`
    )
    say(
      `minimum = max(ceil((${ids.length} + ${truth.continuations}) / 1000) = ${byInputs}, `,
      `longest chain ${truth.longestChain}) = ${minimum}; `,
      `batch reads / minimum = ${c.batchReads} / ${minimum} = ${fmt(ratio, 3)}`
    )
    say(
      `the issue's bound: 1.05 × ceil(${ids.length} / 1000) + (longest chain ${truth.longestChain} − 1) = `,
      `${fmt(bound, 1)}; batch reads ${c.batchReads}`
    )
    fs.rmSync(out, { recursive: true, force: true })
    return {
      scenario: "4. fuller batches, listing",
      figure: `${c.batchReads} batch reads (${fmt(c.inputs / c.batchReads, 0)} inputs a batch; ${
        fmt(ratio, 3)} × the fewest, ${minimum}), ${c.listRequests} lists`,
      goal: `≤ 1.05 × ${Math.ceil(ids.length / maxBatch)} + ${truth.longestChain - 1} = ${fmt(bound, 1)}`,
      met: exit.code === 0 && rows === truth.rows && c.batchReads <= bound
    }
  })

/** 5. 2% of ids with 1000-3000 associations, pages of 100: batch reads against a lower bound. */
const heavyTails = (): Promise<ReadonlyArray<Row>> =>
  withSimulator({ objects: 10_000, shape: "heavyTail", flags: ["--page-size", "100"] }, async (sim) => {
    const out: Array<Row> = []
    say(
      "minimum = max(longest chain of pages of one id = ceil(max associations / 100), ceil(total pages / 1000)), ",
      "total pages = Σ over ids of max(1, ceil(associations / 100))"
    )
    for (const n of [1_000, 10_000]) {
      const ids = sim.portal.ids(from).slice(0, n)
      const truth = truthOf(sim.portal, ids, 100)
      const byPages = Math.ceil(truth.pages / maxBatch)
      const minimum = Math.max(truth.longestChain, byPages)
      const dir = tempDir("s5")
      await reset(sim.baseUrl)
      const exit = await startCli(exportArgs(sim.baseUrl, dir, ["--ids", writeIds(ids)])).exited
      const c = await counters(sim.baseUrl)
      const rows = await manifestRows(dir)
      const ratio = c.batchReads / minimum
      say(
        `${n} ids: ${ended(exit)}, ${rowsCheck(rows, truth.rows)}, ${seconds(exit.wallMillis)}, `,
        `${c.status429} × 429; `,
        `minimum = max(ceil(${truth.maxAssociations} / 100) = ${truth.longestChain}, `,
        `ceil(${truth.pages} / 1000) = ${byPages}) = ${minimum}; `,
        `${c.batchReads} batch reads holding ${c.inputs} inputs`
      )
      fs.rmSync(dir, { recursive: true, force: true })
      out.push({
        scenario: `5. heavy tails, ${n} ids`,
        figure: `${c.batchReads} batch reads / minimum ${minimum} = ${fmt(ratio, 3)}`,
        goal: "≤ 1.3 × minimum",
        met: exit.code === 0 && rows === truth.rows && ratio <= 1.3
      })
    }
    return out
  })

/**
 * 6. Killed once the checkpoint holds ≥ 1,000,000 rows in the open part (`--part-rows 5000000`), then rerun: the
 * time from the rerun's spawn to the simulator's first arrival after it. Parquet, then NDJSON.
 */
const resumeOpenPart = (): Promise<ReadonlyArray<Row>> =>
  withSimulator({ objects: 50_000, flags: [] }, async (sim) => {
    const threshold = 1_000_000
    const ids = sim.portal.ids(from)
    const truth = truthOf(sim.portal, ids, defaultPageSize)
    const idsFile = writeIds(ids)
    const out: Array<Row> = []
    for (const format of ["parquet", "ndjson"] as const) {
      const dir = tempDir(`s6-${format}`)
      const args = exportArgs(sim.baseUrl, dir, ["--ids", idsFile, "--format", format, "--part-rows", "5000000"])
      const first = startCli(args)
      while (first.exit() === undefined && (openRows(dir) ?? 0) < threshold) await sleep(25)
      first.kill()
      const firstExit = await first.exited
      const atKill = openRows(dir) ?? 0
      await reset(sim.baseUrl)
      const rerun = startCli(args)
      const exit = await rerun.exited
      const c = await counters(sim.baseUrl)
      const rows = await manifestRows(dir)
      const firstArrival = c.arrivals[0]
      const toFirst = firstArrival === undefined ? Number.NaN : firstArrival - rerun.spawnedAt
      const resumed = firstExit.signal === "SIGKILL" && atKill >= threshold
      say(
        `${format}: first run ${ended(firstExit)} at ${atKill} rows in the open part (checkpoint), `,
        `after ${seconds(firstExit.wallMillis)}; rerun ${ended(exit)}, ${rowsCheck(rows, truth.rows)}, `,
        `${seconds(exit.wallMillis)}, peak RSS ${(exit.peakRssKiB / 1024).toFixed(0)} MiB; `,
        `spawn to first arrival ${fmt(toFirst, 0)} ms`
      )
      fs.rmSync(dir, { recursive: true, force: true })
      out.push({
        scenario: `6. resume ${format} part`,
        figure: resumed
          ? `${fmt(toFirst, 0)} ms spawn → first request (open part ${atKill} rows), rows ${
            rows === truth.rows ? "exact" : "WRONG"}`
          : `not measured: the first run was not killed at ≥ ${threshold} open rows (${atKill})`,
        goal: "≤ 1 s",
        met: resumed && exit.code === 0 && rows === truth.rows && toFirst <= 1000
      })
    }
    return out
  })

export const run = (): Promise<void> => withTempRoot("adapt", async () => {
  const rows: Array<Row> = []
  const only = (process.env["BENCH_ADAPT"] ?? "").split(",").filter((x) => x.length > 0)
  const scenario = async (title: string, body: () => Promise<ReadonlyArray<Row>>) => {
    if (only.length > 0 && !only.some((n) => title.startsWith(`${n}.`))) return
    console.log(title)
    const started = performance.now()
    const these = await body()
    rows.push(...these)
    console.log(table(these).split("\n").map((l) => `  ${l}`).join("\n"))
    console.log(`  (${seconds(performance.now() - started)})`)
  }
  {
    const one = (body: () => Promise<Row>) => () => body().then((row) => [row])
    await scenario("1. a smaller batch limit", one(smallerBatchLimit))
    await scenario("2. a server limit below --rate-limit", one(lowerServerLimit))
    await scenario("3. after a restart: 20 × kill -9", one(restarts))
    await scenario("4. fuller batches from a listing", one(fullerBatches))
    await scenario("5. heavy tails", heavyTails)
    await scenario("6. resuming an open part of ≥ 1,000,000 rows", resumeOpenPart)
  }
  console.log(`adapt: the goals of issue 15 (met = the goal, exit 0 and the ground truth's rows)`)
  console.log(table(rows))
})

if (process.argv[1]?.endsWith("adapt.js")) {
  run().catch((e: unknown) => {
    console.error(e)
    process.exit(1)
  })
}
