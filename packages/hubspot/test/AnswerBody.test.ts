import { HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as AnswerBody from "../src/internal/answerBody.js"
import * as Pages from "../src/internal/pages.js"

const MiB = 1024 * 1024

describe("Pages", () => {
  it("gives a large buffer pages of its own, outside malloc's heap; a small one is malloc's", () => {
    const arrayBuffers = () => process.memoryUsage().arrayBuffers
    const before = arrayBuffers()
    const large = Pages.buffer(64 * MiB)
    assert.isAtLeast(large.byteLength, 64 * MiB)
    assert.isBelow(arrayBuffers() - before, MiB, "not taken from Node's allocator (malloc)")
    const view = new Uint8Array(large)
    view.fill(7)
    assert.strictEqual(view[64 * MiB - 1], 7)
    // Malloc's: its size exactly, not whole pages (a collection may free others meanwhile: no count to compare).
    assert.strictEqual(Pages.buffer(Pages.ownPagesFrom - 1).byteLength, Pages.ownPagesFrom - 1)
  })

  it("where the address space for pages of its own is refused (ulimit -v), gives malloc's buffers, and goes on", () => {
    // The built module in a process of its own, under a 4 GiB limit (a wasm memory reserves ~10 GB): sizes show
    // which allocator gave each buffer (pages: 64 KiB multiples; malloc: the size asked).
    const pages = fileURLToPath(new URL("../dist/internal/pages.js", import.meta.url))
    const script = `const P = await import(${JSON.stringify(pathToFileURL(pages).href)})
      const sizes = [2, 3, 2].map((m) => P.buffer(m * 1024 * 1024 + 1))
      new Uint8Array(sizes[2]).fill(7)
      console.log(JSON.stringify(sizes.map((b) => b.byteLength)))`
    const run = (limitKiB?: number) => {
      const limit = limitKiB === undefined ? "" : `ulimit -v ${limitKiB} && `
      return spawnSync("sh", ["-c", `${limit}exec "$0" --input-type=module -e "$1"`, process.execPath, script], {
        encoding: "utf8"
      })
    }
    const limited = run(4 * 1024 * 1024)
    assert.strictEqual(limited.status, 0, limited.stderr)
    assert.deepStrictEqual(JSON.parse(limited.stdout), [2 * MiB + 1, 3 * MiB + 1, 2 * MiB + 1])
    const unlimited = run()
    assert.strictEqual(unlimited.status, 0, unlimited.stderr)
    const wholePages = (n: number) => n * MiB + 64 * 1024
    assert.deepStrictEqual(JSON.parse(unlimited.stdout), [wholePages(2), wholePages(3), wholePages(2)])
  })
})

describe("AnswerBody", () => {
  it.scoped("lends a large body's buffer again once given back, to a body of about its size", () =>
    Effect.gen(function*() {
    yield* AnswerBody.keepFreeBuffers
    const size = 3 * MiB
    const a = AnswerBody.take(size)
    assert.strictEqual(a.length, size)
    a.fill(1)
    AnswerBody.giveBack(a)
    const b = AnswerBody.take(size + 1000)
    assert.strictEqual(b.buffer, a.buffer, "an eighth larger fits")
    assert.strictEqual(b.length, size + 1000)
    // Not to a body less than half its size, and not twice.
    AnswerBody.giveBack(b)
    AnswerBody.giveBack(b)
    assert.notStrictEqual(AnswerBody.take(size / 3).buffer, b.buffer)
    assert.strictEqual(AnswerBody.take(size).buffer, b.buffer)
    assert.notStrictEqual(AnswerBody.take(size).buffer, b.buffer)
    // A buffer it did not lend, or a small body's, is left to the garbage collector.
    const foreign = new Uint8Array(size)
    AnswerBody.giveBack(foreign)
    assert.notStrictEqual(AnswerBody.take(size).buffer, foreign.buffer)
    const small = AnswerBody.take(AnswerBody.lentFrom - 1)
    AnswerBody.giveBack(small)
    assert.notStrictEqual(AnswerBody.take(AnswerBody.lentFrom - 1).buffer, small.buffer)
    }))

  it.effect("keeps free buffers only while a stage runs: none once the last one ended", () =>
    Effect.gen(function*() {
      const size = 3 * MiB
      const kept = yield* Effect.scoped(Effect.gen(function*() {
        yield* AnswerBody.keepFreeBuffers
        const inner = yield* Effect.scoped(Effect.gen(function*() {
          yield* AnswerBody.keepFreeBuffers
          const a = AnswerBody.take(size)
          AnswerBody.giveBack(a)
          return a
        }))
        // Another stage still runs: kept.
        const again = AnswerBody.take(size)
        assert.strictEqual(again.buffer, inner.buffer)
        AnswerBody.giveBack(again)
        return again
      }))
      // The last stage ended: dropped, and one given back now is not kept either.
      const next = AnswerBody.take(size)
      assert.notStrictEqual(next.buffer, kept.buffer)
      AnswerBody.giveBack(next)
      assert.notStrictEqual(AnswerBody.take(size).buffer, next.buffer)
    }))

  it.scoped("keeps at most keptBytesMax of free buffers, the last given back", () =>
    Effect.gen(function*() {
    yield* AnswerBody.keepFreeBuffers
    const size = Math.floor(AnswerBody.keptBytesMax / 2)
    const taken = [AnswerBody.take(size), AnswerBody.take(size), AnswerBody.take(size)]
    for (const t of taken) AnswerBody.giveBack(t)
    // Each is an eighth larger than asked: one fits in what is kept, the last given back.
    assert.strictEqual(AnswerBody.take(size).buffer, taken[2]!.buffer)
    const next = AnswerBody.take(size).buffer
    assert.isTrue(taken.every((t) => t.buffer !== next))
    }))

  it.scoped("reads a large body into a lent buffer, its size declared or not", () =>
    Effect.gen(function*() {
      yield* AnswerBody.keepFreeBuffers
      const text = "x".repeat(3 * MiB)
      const request = HttpClientRequest.get("http://localhost/")
      const response = (headers: Record<string, string>) =>
        HttpClientResponse.fromWeb(request, new Response(text, { status: 200, headers }))
      const sizes: Array<number> = []
      const onSize = (n: number) => Effect.sync(() => void sizes.push(n))
      for (const headers of [{ "content-length": String(text.length) }, {}]) {
        const body = yield* AnswerBody.read(response(headers), onSize)
        assert.strictEqual(new TextDecoder().decode(body), text)
        AnswerBody.giveBack(body)
        assert.strictEqual(AnswerBody.take(text.length).buffer, body.buffer)
      }
      assert.deepStrictEqual(sizes, [text.length, text.length])
    }))
})
