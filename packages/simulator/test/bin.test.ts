/**
 * The simulator as a process, from the compiled output (`tsc -b` first, as `pnpm test` does).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { SimulatedPortal } from "../src/index.js"

const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url))

const start = (args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] })
      let stderr = ""
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
      // "close" comes after the exit and the end of stdout and stderr.
      const closed = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)))
      return { child, closed, stderr: () => stderr }
    }),
    ({ child }) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
  )

const firstLine = (child: ReturnType<typeof spawn>) =>
  Effect.async<string>((resume) => {
    let text = ""
    child.stdout!.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8")
      const end = text.indexOf("\n")
      if (end >= 0) resume(Effect.succeed(text.slice(0, end)))
    })
  })


describe("bin", () => {
  it.scopedLive("prints its base URL, serves, and exits 0 on SIGTERM", () =>
    Effect.gen(function*() {
      assert.isTrue(existsSync(bin), "packages/simulator/dist/bin.js is missing: run `npx tsc -b` first")
      const { child, closed } = yield* start(["--port", "0", "--seed", "4", "--objects", "30", "--token", "t"])
      const url = yield* firstLine(child)
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
      const reply = yield* Effect.promise(() =>
        fetch(`${url}/crm/v3/objects/contacts?limit=100`, { headers: { authorization: "Bearer t" } }).then((r) => r.json())
      )
      assert.strictEqual((reply as { results: ReadonlyArray<unknown> }).results.length, 30)
      child.kill("SIGTERM")
      assert.strictEqual(yield* Effect.promise(() => closed), 0)
    }))

  it.scopedLive("takes --latency, and its counters are read and reset over HTTP", () =>
    Effect.gen(function*() {
      const { child } = yield* start(["--objects", "5", "--latency", "1-2", "--rate-limit", "10/1000"])
      const url = yield* firstLine(child)
      const counters = () => Effect.promise(() => fetch(`${url}/__sim/counters`).then((r) => r.json() as Promise<Record<string, unknown>>))
      const status = yield* Effect.promise(() =>
        fetch(`${url}/crm/v3/objects/contacts`, { headers: { authorization: "Bearer sim-token" } }).then((r) => r.status)
      )
      assert.strictEqual(status, 200)
      const before = yield* counters()
      assert.strictEqual(before["requests"], 1)
      assert.strictEqual((before["arrivals"] as ReadonlyArray<number>).length, 1)
      assert.strictEqual(yield* Effect.promise(() => fetch(`${url}/__sim/counters/reset`, { method: "POST" }).then((r) => r.status)), 204)
      assert.strictEqual((yield* counters())["requests"], 0)
    }))

  it.scopedLive("takes --max-inputs, --portal-id, --shape, --no-associations-found and a low --rate-limit", () =>
    Effect.gen(function*() {
      const { child } = yield* start([
        "--seed", "4", "--objects", "60", "--max-inputs", "2", "--portal-id", "12345678", "--shape", "heavyTail",
        "--no-associations-found", "--rate-limit", "6/60000"
      ])
      const url = yield* firstLine(child)
      const fetchJson = (path: string, body?: unknown) =>
        Effect.promise(async () => {
          const res = await fetch(url + path, {
            method: body === undefined ? "GET" : "POST",
            headers: { authorization: "Bearer sim-token", "content-type": "application/json" },
            ...(body === undefined ? {} : { body: JSON.stringify(body) })
          })
          return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> }
        })
      const info = yield* fetchJson("/account-info/v3/details")
      assert.strictEqual(info.status, 200)
      assert.strictEqual(info.body["portalId"], 12345678)

      const portal = SimulatedPortal.make({
        seed: 4,
        objects: 60,
        types: ["contacts", "companies", "deals", "tickets"],
        shape: "heavyTail"
      })
      const ids = portal.ids("contacts")
      const none = ids.find((id) => portal.associations("contacts", "companies", id).length === 0)!
      const path = "/crm/associations/2026-03/contacts/companies/batch/read"
      const tooMany = yield* fetchJson(path, { inputs: ids.slice(0, 3).map((id) => ({ id })) })
      assert.strictEqual(tooMany.status, 400)
      assert.strictEqual(tooMany.body["category"], "VALIDATION_ERROR")
      const empty = yield* fetchJson(path, { inputs: [{ id: none }] })
      assert.strictEqual(empty.status, 207)
      assert.deepStrictEqual(empty.body["results"], [])
      const errors = empty.body["errors"] as ReadonlyArray<Record<string, unknown>>
      assert.strictEqual(errors[0]!["subCategory"], "crm.associations.NO_ASSOCIATIONS_FOUND")
      assert.strictEqual(empty.headers.get("X-HubSpot-RateLimit-Max"), "6")
      assert.strictEqual(empty.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds"), "60000")
      assert.strictEqual(empty.headers.get("X-HubSpot-RateLimit-Remaining"), "3")
      // The heavy tail, capped at the 60 companies: the ids answered are the portal's, with its counts.
      const counts = ids.map((id) => portal.associations("contacts", "companies", id).length)
      const heaviest = ids[counts.indexOf(Math.max(...counts))]!
      const answer = yield* fetchJson(path, { inputs: [{ id: heaviest }] })
      const results = answer.body["results"] as ReadonlyArray<{ readonly to: ReadonlyArray<unknown> }>
      assert.strictEqual(results[0]!.to.length, Math.max(...counts))
    }))

  it.scopedLive("takes --shape heavy: every id answers 480 to 600 associations, in pages of 500", () =>
    Effect.gen(function*() {
      const { child } = yield* start(["--seed", "5", "--objects", "700", "--shape", "heavy", "--rate-limit", "off"])
      const url = yield* firstLine(child)
      const portal = SimulatedPortal.make({
        seed: 5,
        objects: 700,
        types: ["contacts", "companies", "deals", "tickets"],
        shape: "heavy"
      })
      const ids = portal.ids("contacts").slice(0, 3)
      const answer = yield* Effect.promise(() =>
        fetch(`${url}/crm/associations/2026-03/contacts/companies/batch/read`, {
          method: "POST",
          headers: { authorization: "Bearer sim-token", "content-type": "application/json" },
          body: JSON.stringify({ inputs: ids.map((id) => ({ id })) })
        }).then((r) => r.json() as Promise<{ readonly results: ReadonlyArray<{ readonly to: ReadonlyArray<object> }> }>)
      )
      assert.strictEqual(answer.results.length, 3)
      ids.forEach((id, i) => {
        const count = portal.associations("contacts", "companies", id).length
        assert.isAtLeast(count, 480)
        assert.isAtMost(count, 600)
        assert.strictEqual(answer.results[i]!.to.length, Math.min(500, count))
      })
    }))

  it.scopedLive("takes --incomplete as a probability or as JSON with the statuses", () =>
    Effect.gen(function*() {
      const portal = SimulatedPortal.make({
        seed: 1,
        objects: 5,
        types: ["contacts", "companies", "deals", "tickets"],
        shape: "typical"
      })
      const body = JSON.stringify({ inputs: [{ id: portal.ids("contacts")[0] }] })
      const statusOf = (args: ReadonlyArray<string>) =>
        Effect.gen(function*() {
          const { child } = yield* start(["--seed", "1", "--objects", "5", ...args])
          const url = yield* firstLine(child)
          return yield* Effect.promise(() =>
            fetch(`${url}/crm/associations/2026-03/contacts/companies/batch/read`, {
              method: "POST",
              headers: { authorization: "Bearer sim-token", "content-type": "application/json" },
              body
            }).then((r) => r.json() as Promise<{ readonly status: string; readonly results: ReadonlyArray<unknown> }>)
          )
        })
      const processing = yield* statusOf(["--incomplete", "{\"probability\":1,\"statuses\":[\"PROCESSING\"]}"])
      assert.strictEqual(processing.status, "PROCESSING")
      assert.deepStrictEqual(processing.results, [])
      assert.include(["PENDING", "PROCESSING", "CANCELED"], (yield* statusOf(["--incomplete", "1"])).status)
      assert.strictEqual((yield* statusOf(["--incomplete", "0"])).status, "COMPLETE")
    }))

  it.scopedLive("exits 2 on a bad --shape, --max-inputs, --page-size or --incomplete", () =>
    Effect.gen(function*() {
      for (
        const [flag, value] of [
          ["--shape", "flat"],
          ["--max-inputs", "0"],
          ["--page-size", "0"],
          ["--incomplete", "2"],
          ["--incomplete", "{\"probability\":1,\"statuses\":[\"COMPLETE\"]}"],
          ["--incomplete", "{\"probability\":1,\"statuses\":[]}"]
        ] as const
      ) {
        const { closed, stderr } = yield* start([flag, value])
        assert.strictEqual(yield* Effect.promise(() => closed), 2)
        assert.include(stderr(), flag)
      }
    }))

  it.scopedLive("exits 2 on a bad --latency", () =>
    Effect.gen(function*() {
      const { closed, stderr } = yield* start(["--latency", "300-100"])
      assert.strictEqual(yield* Effect.promise(() => closed), 2)
      assert.include(stderr(), "--latency")
    }))

  it.scopedLive("exits 2 on a bad flag, naming it", () =>
    Effect.gen(function*() {
      const { closed, stderr } = yield* start(["--port", "many"])
      assert.strictEqual(yield* Effect.promise(() => closed), 2)
      assert.include(stderr(), "--port")
    }))
})
