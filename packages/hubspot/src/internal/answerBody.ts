/**
 * An answer's body read as it arrives, into one buffer: the size its `Content-Length` declares when it has one
 * (a buffer of exactly that size, filled chunk by chunk), else one that grows by doubling.
 *
 * Why not `arrayBuffer()`: undici keeps every chunk until the body ends, then copies them into one buffer, so an
 * answer of 60 MB weighs 120 MB for a moment; six of them in flight is most of a small container. Read so, it
 * weighs its size, and whoever asked learns that size as soon as the headers are in (`onSize`), before a byte of
 * the body is kept. (Lending the same buffers from one answer to the next, a pool, was tried: it held more than
 * the garbage it saved, since bodies differ in size and it kept buffers of every size.)
 */
import type { HttpClientError, HttpClientResponse } from "@effect/platform"
import { Effect, Stream } from "effect"

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
 * reader of the answer then finds it cut); one longer grows the buffer.
 */
export const read = (
  response: HttpClientResponse.HttpClientResponse,
  onSize: (bytes: number) => Effect.Effect<void>
): Effect.Effect<Uint8Array, HttpClientError.ResponseError> =>
  Effect.suspend(() => {
    const declared = declaredSize(response)
    let buffer = new Uint8Array(declared ?? 64 * 1024)
    let at = 0
    const append = (chunk: Uint8Array) => {
      if (at + chunk.length > buffer.length) {
        const larger = new Uint8Array(Math.max(2 * buffer.length, at + chunk.length))
        larger.set(buffer.subarray(0, at))
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
      Effect.map(() => (at === buffer.length ? buffer : buffer.subarray(0, at)))
    )
    return declared === undefined
      ? Effect.tap(body, (bytes) => onSize(bytes.length))
      : Effect.zipRight(onSize(declared), body)
  })
