/**
 * `export` without `--ids` lists every --from object by walking the id space from both ends at once: the list
 * API up from the lowest id, the search API down from the highest (keyset paging on `hs_object_id`), until they
 * meet. Every id once, about a third of the list requests, a total (so the progress has one), and after kill -9
 * at random moments of the listing a resume that numbers every id as before and ends exact.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { tempDir } from "../support/Parts.js"
import { assertExact, cli, exportHarness } from "./support.js"

const token = "listing-test-token"
const { env, exportArgs, simulator } = exportHarness({ token, serverPerSecond: 400, rateLimit: "40/1s" })

/** `exportArgs` with the CLI's `--rate-limit` replaced. */
const withRateLimit = (args: ReadonlyArray<string>, limit: string) =>
  args.map((a, i) => (args[i - 1] === "--rate-limit" ? limit : a))

interface JournalLine {
  readonly ids: ReadonlyArray<string>
  readonly next: unknown
}

/** The listing's journal in `out`, line by line (a line cut short by a kill left out): what a resume reads back. */
const journalOf = (out: string): ReadonlyArray<JournalLine> => {
  const file = path.join(out, ".listed-ids")
  if (!fs.existsSync(file)) return []
  const text = fs.readFileSync(file, "utf8")
  return text.slice(0, text.lastIndexOf("\n") + 1).split("\n").filter((l) => l !== "").map((l) => JSON.parse(l))
}

const idsOf = (journal: ReadonlyArray<JournalLine>): ReadonlyArray<string> => journal.flatMap((l) => [...l.ids])

/** Fails unless `listed` holds every id of `ids` exactly once. */
const assertEveryIdOnce = (listed: ReadonlyArray<string>, ids: ReadonlyArray<string>) => {
  assert.strictEqual(new Set(listed).size, listed.length, "no id twice")
  assert.deepStrictEqual([...listed].sort(), [...ids].sort(), "every id")
}

describe("export without --ids: the listing walks from both ends (built CLI as a child process)", () => {
  it.scopedLive("every contact once, about a third of the list requests, and the total in the progress lines", () =>
    Effect.gen(function*() {
      const sim = yield* simulator({ objects: 3000, pageSize: 100, latencyMillis: [2, 10] })
      const ids = sim.portal.ids("contacts")
      const out = path.join(yield* tempDir, "out")
      // Slow enough (10 requests a second, some 75 in all) to last past the first progress line, logged at 5 s.
      const args = withRateLimit(exportArgs(sim.baseUrl, out, "--batch-size", "100", "--log-format", "json"), "10/1s")
      const ran = yield* cli(args, { env })
      assert.strictEqual(ran.code, 0, ran.stderr)
      yield* assertExact(out, sim.portal)

      const counters = yield* sim.counters
      // The list API alone takes 30 requests, one after another. Both walks take 11 steps of one of each (the
      // 11th sees them met), each step a round trip.
      assert.strictEqual(counters.listRequests, 11)
      assert.strictEqual(counters.searchRequests, 11)
      assert.isAtMost(counters.listRequests, Math.ceil(ids.length / 100) / 2)

      const journal = journalOf(out)
      assertEveryIdOnce(idsOf(journal), ids)
      // The first step: the list walk's lowest 100, then the search walk's highest 200, highest first.
      assert.deepStrictEqual(journal[0]!.ids, [...ids.slice(0, 100), ...ids.slice(-200).reverse()])
      assert.strictEqual(journal.length, 11)
      const manifest = JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8"))
      assert.strictEqual(manifest.export.source.kind, "list")
      assert.strictEqual(manifest.export.source.details.searchIndexLagMillis, "300000")

      // The first search answer's total: the progress lines have it (so a terminal shows a percentage and an ETA).
      const progress = ran.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l))
        .filter((l) => l.message === "progress")
      assert.isAtLeast(progress.length, 1, ran.stderr)
      for (const line of progress) assert.strictEqual(line.annotations.ids_total, 3000)
    }), 120_000)

  it.scopedLive("killed with kill -9 at random moments of the listing, a rerun numbers each id as before: exact", () =>
    Effect.gen(function*() {
      const sim = yield* simulator({ objects: 3000, pageSize: 100, latencyMillis: [10, 30] })
      const ids = sim.portal.ids("contacts")
      const out = path.join(yield* tempDir, "out")
      const args = exportArgs(sim.baseUrl, out, "--batch-size", "100", "--concurrency", "2")
      const walked = () => {
        const c = Effect.runSync(sim.counters)
        return c.listRequests + c.searchRequests
      }
      const kills = 6
      let killed = 0
      let killedMidWalk = 0
      let finished = false
      // The journal after each kill: a resume keeps each id where it was, so each is the start of the next.
      let before: ReadonlyArray<string> = []
      for (let attempt = 0; attempt < 40 && !finished; attempt++) {
        let timer: ReturnType<typeof setInterval> | undefined
        const ran = yield* cli(args, {
          env,
          onSpawn: (child) => {
            if (killed >= kills) return
            // A random moment of the listing: after 1 to 3 more list or search answers, and up to 30 ms more (the
            // walk is ~22 answers: six kills of up to 3 answers each, and a step or two walked again after each,
            // fall before it ends).
            const at = walked() + 1 + Math.floor(Math.random() * 3)
            const delay = Math.floor(Math.random() * 30)
            timer = setInterval(() => {
              if (walked() < at) return
              clearInterval(timer)
              setTimeout(() => child.kill("SIGKILL"), delay)
            }, 2)
          }
        })
        clearInterval(timer)
        const journal = journalOf(out)
        const listed = idsOf(journal)
        assert.deepStrictEqual(listed.slice(0, before.length), before, `attempt ${attempt}: ids keep their place`)
        assert.strictEqual(new Set(listed).size, listed.length, "no id twice")
        before = listed
        if (ran.signal === "SIGKILL") {
          killed++
          if (journal.at(-1)?.next !== null) killedMidWalk++
        } else {
          assert.strictEqual(ran.code, 0, ran.stderr)
          finished = true
        }
      }
      assert.isTrue(finished)
      assert.isAtLeast(killed, kills)
      assert.isAtLeast(killedMidWalk, 3, "kills fell while the walks went on")
      assertEveryIdOnce(before, ids)
      yield* assertExact(out, sim.portal)
      // Each run walked on from where the journal stood: each kill cost at most a step or two of the 11.
      const counters = yield* sim.counters
      assert.isAtMost(counters.listRequests, 11 + 2 * killed)
      assert.isAtLeast(counters.searchRequests, 11)
    }), 240_000)
})
