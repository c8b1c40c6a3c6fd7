/**
 * An answer's body read as it arrives, into one buffer: the size its `Content-Length` declares when it has one
 * (a buffer of exactly that size, filled chunk by chunk), else one that grows by doubling.
 *
 * Why not `arrayBuffer()`: undici keeps every chunk until the body ends, then copies them into one buffer, so an
 * answer of 60 MB weighs 120 MB for a moment; six of them in flight is most of a small container. Read so, it
 * weighs its size, and whoever asked learns that size as soon as the headers are in (`onSize`), before a byte of
 * the body is kept.
 *
 * A large body's buffer is lent (`take`) and given back once the answer is read (`giveBack`, by
 * `BatchReadAnswer.fromBody` when its rows keep none of it), to serve a later body of about its size; a few
 * free ones are kept while a batch-read stage runs (`keptBytesMax`, `keepFreeBuffers`), the least recently given
 * back dropped first. Its pages are its own
 * (`pages.ts`): a buffer dropped goes back to the system, not into a hole of malloc's heap. Kept, not made anew
 * for each body: a fresh page costs a fault on first touch, ~0.1 s for 25 MB on the benchmark machine, which a
 * buffer written again does not. (An earlier pool, which kept a buffer of every size, held more than the garbage
 * it saved: this one keeps 64 MiB at most.)
 */
import type { HttpClientError, HttpClientResponse } from "@effect/platform"
import { Effect, type Scope, Stream } from "effect"
import * as Pages from "./pages.js"

/** Bodies of this many bytes or more are read into lent buffers; smaller ones into buffers of their own. */
export const lentFrom = Pages.ownPagesFrom

/** The most bytes of free buffers kept for later bodies. */
export const keptBytesMax = 64 * 1024 * 1024

/** Free buffers, the least recently given back first, and the bytes they hold. */
const free: Array<ArrayBuffer> = []
let freeBytes = 0
/** The buffers lent and not given back: only those are taken back (a buffer given back twice is not lent twice). */
const lent = new WeakSet<ArrayBuffer>()

/**
 * `size` bytes, not zeroed: a view of the smallest free buffer that holds them and is at most twice as large,
 * else of a new one an eighth larger, so that a body a little larger may have it next. Below `lentFrom`, a
 * buffer of their own.
 */
export const take = (size: number): Uint8Array => {
  if (size < lentFrom) return new Uint8Array(size)
  let best = -1
  for (let i = 0; i < free.length; i++) {
    const capacity = free[i]!.byteLength
    if (capacity >= size && capacity <= 2 * size && (best < 0 || capacity < free[best]!.byteLength)) best = i
  }
  let buffer: ArrayBuffer
  if (best >= 0) {
    buffer = free.splice(best, 1)[0]!
    freeBytes -= buffer.byteLength
  } else {
    buffer = Pages.buffer(Math.ceil((size * 9) / 8))
  }
  lent.add(buffer)
  return new Uint8Array(buffer, 0, size)
}

/** How many batch-read stages are running: free buffers are kept only while one is. */
let readers = 0

/**
 * Free buffers are kept for the life of the scope (a batch-read stage's): when the last such scope closes they
 * are dropped, so a process that embeds the library does not hold them once its exports end.
 */
export const keepFreeBuffers: Effect.Effect<void, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => void readers++),
  () =>
    Effect.sync(() => {
      readers--
      if (readers === 0) {
        free.length = 0
        freeBytes = 0
      }
    })
)

/**
 * Takes back the buffer under `bytes` when `take` lent it (anything else is left to the garbage collector):
 * whoever gives it back must not read it again, nor any view of it. Kept for a later body only while a stage
 * runs (`keepFreeBuffers`).
 */
export const giveBack = (bytes: Uint8Array): void => {
  const buffer = bytes.buffer as ArrayBuffer
  if (!lent.delete(buffer) || readers === 0) return
  free.push(buffer)
  freeBytes += buffer.byteLength
  while (freeBytes > keptBytesMax) freeBytes -= free.shift()!.byteLength
}

/** A declared length larger than this is not believed: the buffer grows with what comes instead. */
const largestDeclared = 2 ** 31 - 1

/** The body's size as its `Content-Length` declares it, if it declares one that can be believed. */
export const declaredSize = (response: HttpClientResponse.HttpClientResponse): number | undefined => {
  const header = response.headers["content-length"]
  if (header === undefined || !/^\d{1,10}$/.test(header.trim())) return undefined
  const n = Number(header)
  return n <= largestDeclared ? n : undefined
}

/**
 * The body's bytes. `onSize` is called with its declared size before the body is read, or with the size read
 * once it is whole when none was declared. A body shorter than declared comes back short, as it came (the
 * reader of the answer then finds it cut); one longer grows the buffer. A large body's buffer is lent (`take`):
 * give it back (`giveBack`) once nothing will read it.
 */
export const read = (
  response: HttpClientResponse.HttpClientResponse,
  onSize: (bytes: number) => Effect.Effect<void>
): Effect.Effect<Uint8Array, HttpClientError.ResponseError> =>
  Effect.suspend(() => {
    const declared = declaredSize(response)
    let buffer = take(declared ?? 64 * 1024)
    let at = 0
    const append = (chunk: Uint8Array) => {
      if (at + chunk.length > buffer.length) {
        const larger = take(Math.max(2 * buffer.length, at + chunk.length))
        larger.set(buffer.subarray(0, at))
        giveBack(buffer)
        buffer = larger
      }
      buffer.set(chunk, at)
      at += chunk.length
    }
    const body = response.stream.pipe(
      Stream.runForEachChunk((chunks) =>
        Effect.sync(() => {
          for (const chunk of chunks) append(chunk)
        })
      ),
      Effect.map(() => (at === buffer.length ? buffer : buffer.subarray(0, at))),
      // Read in part, it is nobody's.
      Effect.onError(() => Effect.sync(() => giveBack(buffer)))
    )
    return declared === undefined
      ? Effect.tap(body, (bytes) => onSize(bytes.length))
      : Effect.zipRight(onSize(declared), body)
  })
