/**
 * `assoc-etl fleet`: workers (the built CLI, each a process) on a PostgreSQL of the test's own, portals that are
 * simulators each with its own token and rate limit, jobs submitted with `--wait`. A worker killed with kill -9
 * while it runs a portal: its portals are carried on by the others, every dataset is exact, and no simulator saw a
 * 429 with each job's limit equal to its portal's own (two workers exporting one portal at once would overrun it).
 * A job's `out` may be a bucket (`s3://`, s3rver on loopback): its dataset there is sealed and exact.
 */
import { SimulatedPortal, Simulator } from "@assoc-etl/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schedule } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { readNdjson } from "../support/DuckDb.js"
import { tempDir } from "../support/Parts.js"
import * as Postgres from "../support/Postgres.js"
import * as S3Server from "../support/S3Server.js"
import { bin, cli, root, sortedKeys, writeIds } from "./support.js"

/** Each portal's limit, the simulator's and its job entry's: 20 requests a rolling second. */
const perSecond = 20

interface Worker {
  readonly port: number
  readonly child: ChildProcess
  /** Its stderr so far. */
  readonly stderr: () => string
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

/** A port free on loopback now. */
const freePort = Effect.promise(() =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as net.AddressInfo
      server.close(() => resolve(address.port))
    })
  })
)

/** `assoc-etl fleet worker` as a process until the scope closes (then SIGKILL if it runs): ready once it says so. */
const startWorker = (env: Record<string, string>) =>
  Effect.gen(function*() {
    const port = yield* freePort
    const worker = yield* Effect.acquireRelease(
      Effect.sync((): Worker => {
        const child = spawn(process.execPath, [bin, "fleet", "worker", "--port", String(port)], {
          cwd: root,
          env: { ...process.env, ...env },
          stdio: ["ignore", "ignore", "pipe"]
        })
        let stderr = ""
        child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d))
        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
          child.once("exit", (code, signal) => resolve({ code, signal }))
        )
        return { port, child, stderr: () => stderr, exited }
      }),
      (w) => Effect.sync(() => w.child.kill("SIGKILL"))
    )
    yield* eventually(() =>
      worker.stderr().includes("a runner of the fleet") || worker.child.exitCode !== null ? true : undefined
    )
    assert.include(worker.stderr(), "a runner of the fleet", worker.stderr())
    return worker
  })

/** The value of `f` once it has one (polled every 100 ms, for 2 minutes at most). */
const eventually = <A>(f: () => A | undefined) =>
  Effect.suspend(() => {
    const a = f()
    return a === undefined ? Effect.fail("not yet") : Effect.succeed(a)
  }).pipe(Effect.retry(Schedule.spaced("100 millis")), Effect.timeoutFail({
    duration: "2 minutes",
    onTimeout: () => new Error("waited 2 minutes")
  }), Effect.orDie)

/** A simulated portal with its own token, seed and limit. */
const portal = (seed: number, objects: number) =>
  Simulator.make({
    seed,
    objects,
    pageSize: 50,
    token: `fleet-token-${seed}`,
    rateLimit: { max: perSecond, windowMillis: 1000 }
  })

type Sim = Simulator.SimulatorService

const tokenEnv = (sim: Sim) => `FLEET_TOKEN_${sim.options.seed}`

interface EntryOptions {
  readonly name: string
  readonly sim: Sim
  readonly pairs: ReadonlyArray<readonly [string, string]>
  readonly out: string
  readonly more?: Record<string, unknown>
}

const entry = (o: EntryOptions) => ({
  portal: o.name,
  tokenEnv: tokenEnv(o.sim),
  baseUrl: o.sim.baseUrl,
  pairs: o.pairs.map(([from, to]) => `${from}:${to}`),
  out: o.out,
  rateLimit: `${perSecond}/1s`,
  // Small batches, so that an export lasts long enough for a worker to die in it.
  batchSize: 2,
  ...o.more
})

const writeJob = (dir: string, id: string, entries: ReadonlyArray<ReturnType<typeof entry>>): string => {
  const file = path.join(dir, `${id}.json`)
  fs.writeFileSync(file, JSON.stringify({ id, exports: entries }, null, 2))
  return file
}

/** Fails unless each pair's dataset under `out` is sealed and holds exactly the portal's rows of that pair. */
const assertExact = (out: string, sim: Sim, pairs: ReadonlyArray<readonly [string, string]>) =>
  Effect.forEach(pairs, ([from, to]) =>
    Effect.gen(function*() {
      const dir = path.join(out, `${from}-${to}`)
      assert.isTrue(fs.existsSync(path.join(dir, "_SUCCESS")), `${dir} is sealed`)
      const rows = yield* readNdjson(path.join(dir, "*.ndjson"))
      const truth = SimulatedPortal.groundTruth(sim.portal, from, to)
      assert.deepStrictEqual(sortedKeys(rows), sortedKeys(truth.rows), `${dir}: rows`)
    }))

/** `fleet status JOB` as lines of cells (split on two spaces or more), the head line first. */
const statusLines = (text: string) => text.trim().split("\n").map((l) => l.split(/ {2,}/))

/** Every file under `dir` that holds `needle`. */
const filesHolding = (dir: string, needle: string): ReadonlyArray<string> =>
  fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath, d.name))
    .filter((file) => {
      try {
        return fs.readFileSync(file).includes(needle)
      } catch {
        return false // a file PostgreSQL removed meanwhile
      }
    })

describe("assoc-etl fleet", () => {
  it.scopedLive(
    "3 workers, 6 portals, one job; a worker killed with kill -9 in a portal: each dataset exact, 0 × 429, exit 0",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const pg = yield* Postgres.start
        const sims = yield* Effect.all([1, 2, 3, 4, 5, 6].map((seed) => portal(seed, 300)))
        const env: Record<string, string> = { ASSOC_ETL_DATABASE_URL: pg.url }
        for (const sim of sims) env[tokenEnv(sim)] = sim.options.token
        const workers = yield* Effect.all([startWorker(env), startWorker(env), startWorker(env)])

        // 1 or 2 pairs a portal; outs in one directory every worker shares.
        const pairsOf = (i: number): ReadonlyArray<readonly [string, string]> =>
          i % 2 === 0 ? [["contacts", "companies"], ["deals", "contacts"]] : [["contacts", "companies"]]
        const names = sims.map((_, i) => `portal-${i + 1}`)
        const outs = sims.map((_, i) => path.join(dir, "shared", names[i]!))
        const job = writeJob(
          dir,
          "night-1",
          sims.map((sim, i) => entry({ name: names[i]!, sim, pairs: pairsOf(i), out: outs[i]! }))
        )
        const submitted = yield* Effect.fork(cli(["fleet", "submit", job, "--wait"], { env }))

        // The victim: the first worker seen exporting a portal that has committed rows (a progress line with rows).
        const victim = yield* eventually(() => workers.find((w) => /message=progress .*rows=[1-9]/.test(w.stderr())))
        const moved = [...victim.stderr().matchAll(/export of portal (\S+) \(job night-1\) starts/g)].map((m) => m[1]!)
        const killedAt = Date.now()
        victim.child.kill("SIGKILL")
        yield* Effect.promise(() => victim.exited)

        const ran = yield* Fiber.join(submitted)
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.strictEqual(ran.stdout, "night-1\n")
        yield* Effect.forEach(sims, (sim, i) => assertExact(outs[i]!, sim, pairsOf(i)))
        for (const sim of sims) {
          assert.strictEqual((yield* sim.counters).status429, 0, `${sim.baseUrl}: no 429`)
        }

        // Where each portal ended: a surviving worker, which started again what the victim had.
        const status = yield* cli(["fleet", "status", "night-1"], { env })
        assert.strictEqual(status.code, 0, status.stderr)
        const [head, titles, ...rows] = statusLines(status.stdout)
        assert.match(head!.join("  "), /^job night-1: done .*6 portals, 9 pairs: 9 done$/)
        assert.deepStrictEqual(titles, ["PORTAL", "PAIR", "STATE", "ROWS", "REFUSED", "RUNNER", "UPDATED", "ERROR"])
        assert.strictEqual(rows.length, 9)
        const survivors = workers.filter((w) => w !== victim).map((w) => `127.0.0.1:${w.port}`)
        for (const [name, pair, state, count, refused, runner] of rows) {
          const i = names.indexOf(name!)
          const [from, to] = pair!.split("-")
          assert.strictEqual(state, "done")
          assert.strictEqual(Number(count), SimulatedPortal.groundTruth(sims[i]!.portal, from!, to!).rows.length)
          assert.strictEqual(refused, "0")
          assert.include(survivors, runner, `${name} ended on a surviving worker`)
        }
        // The same, as JSON for a script.
        const json = yield* cli(["fleet", "status", "night-1", "--format", "json"], { env })
        assert.strictEqual(json.code, 0, json.stderr)
        const asJson = JSON.parse(json.stdout) as {
          state: string
          pairs: ReadonlyArray<{ portal: string; pair: string; state: string; rows: number; runner: string }>
        }
        assert.strictEqual(asJson.state, "done")
        assert.deepStrictEqual(
          asJson.pairs.map((p) => [p.portal, p.pair, p.state, String(p.rows), p.runner]),
          rows.map(([name, pair, state, count, , runner]) => [name, pair, state, count, runner])
        )
        assert.isAbove(moved.length, 0)
        for (const name of moved) {
          // When another worker started it again: within seconds of the kill.
          const line = new RegExp(`timestamp=(\\S+) .*export of portal ${name} \\(job night-1\\) starts`, "g")
          const started = workers.filter((w) => w !== victim)
            .flatMap((w) => Array.from(w.stderr().matchAll(line), (m) => Date.parse(m[1]!)))
            .filter((t) => t > killedAt)
          assert.isAbove(started.length, 0, `${name} was carried on by another worker`)
          const after = (Math.min(...started) - killedAt) / 1000
          assert.isBelow(after, 30, `${name} was carried on ${after} s after the kill`)
        }

        // Submitted again: the same result at once, nothing asked of any portal.
        const requests = yield* Effect.forEach(sims, (sim) => Effect.map(sim.counters, (c) => c.requests))
        const started = Date.now()
        const again = yield* cli(["fleet", "submit", job, "--wait"], { env })
        assert.strictEqual(again.code, 0, again.stderr)
        assert.isBelow(Date.now() - started, 20_000)
        assert.include(again.stderr, status.stdout.trim(), "the same status as the first run's end")
        const requestsAfter = yield* Effect.forEach(sims, (sim) => Effect.map(sim.counters, (c) => c.requests))
        assert.deepStrictEqual(requestsAfter, requests, "nothing was asked of any portal")

        // No token anywhere: the workers' logs, what submit and status print, every byte PostgreSQL stored.
        for (const sim of sims) {
          const token = sim.options.token
          for (const w of workers) assert.notInclude(w.stderr(), token)
          assert.notInclude(ran.stdout + ran.stderr + status.stdout + again.stderr, token)
          assert.deepStrictEqual(filesHolding(pg.dataDirectory, token), [], `${token} in PostgreSQL's files`)
        }
        assert.isAbove(filesHolding(pg.dataDirectory, tokenEnv(sims[0]!)).length, 0, "the job, with its tokenEnv")

        // SIGTERM: each surviving worker stops cleanly (exit 0), deregistered.
        for (const w of workers.filter((w) => w !== victim)) {
          w.child.kill("SIGTERM")
          const exit = yield* Effect.promise(() => w.exited)
          assert.deepStrictEqual(exit, { code: 0, signal: null }, w.stderr())
          assert.include(w.stderr(), "stopped (SIGTERM): deregistered")
        }
      }),
    240_000
  )

  it.scopedLive(
    "a portal's token variable missing on the workers: failed, the variable named, --wait exits 1; refusals exit 3",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const pg = yield* Postgres.start
        const s3 = yield* S3Server.start()
        const [good, other] = yield* Effect.all([portal(11, 60), portal(12, 60)])
        // `other`'s token variable is in no worker's environment.
        const env = { ASSOC_ETL_DATABASE_URL: pg.url, [tokenEnv(good!)]: good!.options.token, ...s3.env }
        yield* startWorker(env)
        // Ids of which two the portal does not have: refused by HubSpot (the simulator), a 207 each.
        const ids = writeIds(dir, [...good!.portal.ids("contacts").slice(0, 20), "999999991", "999999992"])
        const refusing = (out: string) =>
          entry({
            name: "good",
            sim: good!,
            pairs: [["contacts", "companies"]],
            out,
            more: { ids, batchSize: 10 }
          })
        const job = writeJob(dir, "broken", [
          refusing(path.join(dir, "good")),
          entry({ name: "other", sim: other!, pairs: [["contacts", "companies"]], out: path.join(dir, "other") })
        ])
        const ran = yield* cli(["fleet", "submit", job, "--wait"], { env })
        assert.strictEqual(ran.code, 1, ran.stderr)
        const missing = `${tokenEnv(other!)} is not set in the environment of the worker`
        assert.include(ran.stderr, missing)
        assert.strictEqual((yield* other!.counters).requests, 0, "nothing was sent without a token")

        const status = yield* cli(["fleet", "status", "broken"], { env })
        assert.strictEqual(status.code, 0, status.stderr)
        const [head, , ...rows] = statusLines(status.stdout)
        assert.match(head!.join("  "), /^job broken: failed .*2 portals, 2 pairs: 1 done-with-refusals, 1 failed$/)
        const byPortal = new Map(rows.map((r) => [r[0], r]))
        const known = good!.portal.ids("contacts").slice(0, 20)
        const truth = SimulatedPortal.groundTruth(good!.portal, "contacts", "companies", known)
        assert.deepStrictEqual(
          byPortal.get("good")?.slice(1, 5),
          ["contacts-companies", "done-with-refusals", String(truth.rows.length), "2"]
        )
        assert.strictEqual(byPortal.get("other")?.[2], "failed")
        assert.include(byPortal.get("other")?.at(-1), missing)
        // Refusals alone, into a bucket: submitted (its id printed, exit 0 once recorded), then waited for: exit 3.
        const refusals = writeJob(dir, "refusals", [refusing(`s3://${s3.bucket}/refusals`)])
        const recorded = yield* cli(["fleet", "submit", refusals], { env })
        assert.strictEqual(recorded.code, 0, recorded.stderr)
        assert.strictEqual(recorded.stdout, "refusals\n")
        const done = yield* cli(["fleet", "submit", refusals, "--wait"], { env })
        assert.strictEqual(done.code, 3, done.stderr)
        assert.match(done.stderr, /job refusals: done-with-refusals /)
        // The bucket holds the dataset, sealed: the known ids' rows exactly, the two refused in its errors.
        const fetched = path.join(dir, "fetched")
        const keys = yield* S3Server.reader(s3).fetch("refusals/contacts-companies", fetched)
        assert.includeMembers(keys.map((k) => k.name), ["_SUCCESS", "manifest.json", "_errors/errors.ndjson"])
        const inBucket = yield* readNdjson(path.join(fetched, "part-*.ndjson"))
        assert.deepStrictEqual(sortedKeys(inBucket), sortedKeys(truth.rows))
        const errors = fs.readFileSync(path.join(fetched, "_errors/errors.ndjson"), "utf8").trim().split("\n")
        assert.deepStrictEqual(errors.map((l) => JSON.parse(l).object_id).sort(), ["999999991", "999999992"])

        // The recent jobs, the last submitted first.
        const recent = yield* cli(["fleet", "status"], { env })
        assert.strictEqual(recent.code, 0, recent.stderr)
        assert.deepStrictEqual(
          statusLines(recent.stdout).map((l) => l.slice(0, 2)),
          [["JOB", "STATE"], ["refusals", "done-with-refusals"], ["broken", "failed"]]
        )
        const recentJson = yield* cli(["fleet", "status", "--format", "json"], { env })
        assert.strictEqual(recentJson.code, 0, recentJson.stderr)
        assert.deepStrictEqual(
          (JSON.parse(recentJson.stdout) as { jobs: ReadonlyArray<{ id: string; state: string }> }).jobs
            .map((j) => [j.id, j.state]),
          [["refusals", "done-with-refusals"], ["broken", "failed"]]
        )

        // A known id with other settings is refused, nothing recorded; an unknown id to status: exit 2.
        const changed = writeJob(dir, "refusals", [refusing(path.join(dir, "elsewhere"))])
        const refused = yield* cli(["fleet", "submit", changed], { env })
        assert.strictEqual(refused.code, 2, refused.stderr)
        assert.include(refused.stderr, "a job refusals was submitted before with other settings")
        const unknown = yield* cli(["fleet", "status", "nope"], { env })
        assert.strictEqual(unknown.code, 2, unknown.stderr)
      }),
    120_000
  )
})
