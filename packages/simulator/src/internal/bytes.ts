/**
 * A growable byte buffer for answers of many megabytes: text is written as
 * UTF-8 straight into it, and small byte runs (ids, cached JSON fragments)
 * are copied by a loop, so an answer is neither a string of ropes to flatten
 * and encode again on send, nor garbage. The buffers of sent answers are
 * written again: fresh memory of megabytes an answer costs page faults.
 */

export interface Taken {
  readonly bytes: Uint8Array
  /** Gives the buffer back to the writer, once `bytes` is sent and no longer read. Optional: else it is garbage. */
  readonly release: () => void
}

export interface Writer {
  /** Appends a string as UTF-8. */
  readonly text: (s: string) => void
  /** Appends `bytes[start, end)`. */
  readonly bytes: (bytes: Uint8Array, start?: number, end?: number) => void
  /** What was written, and the writer is empty again (with another buffer). */
  readonly take: () => Taken
  /** Forgets what was written. */
  readonly clear: () => void
}

/** Buffers kept for answers to come: a few, not too large. */
const maxSpare = 4
const maxSpareBytes = 1 << 24

const empty = Buffer.alloc(0)

export const make = (initialBytes = 1 << 16): Writer => {
  let buf: Buffer = Buffer.allocUnsafeSlow(initialBytes)
  let pos = 0
  const spare: Array<Buffer> = []
  /** The size of a new buffer: that of the last answer's, which was given away. */
  let nextSize = initialBytes

  const ensure = (n: number) => {
    if (pos + n <= buf.length) return
    if (buf === empty && spare.length > 0) {
      buf = spare.pop()!
      if (pos + n <= buf.length) return
    }
    let size = Math.max(buf.length * 2, nextSize, 1024)
    while (size < pos + n) size *= 2
    const next = Buffer.allocUnsafeSlow(size)
    buf.copy(next, 0, 0, pos)
    buf = next
  }

  const text = (s: string) => {
    // At most 3 bytes of UTF-8 per UTF-16 unit.
    ensure(s.length * 3)
    pos += buf.write(s, pos, "utf8")
  }

  const bytes = (src: Uint8Array, start = 0, end = src.length) => {
    const n = end - start
    ensure(n)
    if (n <= 32) {
      // Locals, not the closure's variables, in the loop.
      const b = buf
      let p = pos
      for (let i = start; i < end; i++) b[p++] = src[i]!
      pos = p
    } else {
      buf.set(start === 0 && end === src.length ? src : src.subarray(start, end), pos)
      pos += n
    }
  }

  const take = (): Taken => {
    const lent = buf
    const taken = lent.subarray(0, pos)
    // The next buffer is a spare, or one made at the next write if none is back by then.
    buf = spare.pop() ?? empty
    nextSize = lent.length
    pos = 0
    let released = false
    return {
      bytes: taken,
      release: () => {
        if (released) return
        released = true
        if (lent !== empty && spare.length < maxSpare && lent.length <= maxSpareBytes) spare.push(lent)
      }
    }
  }

  const clear = () => {
    pos = 0
  }

  return { text, bytes, take, clear }
}
