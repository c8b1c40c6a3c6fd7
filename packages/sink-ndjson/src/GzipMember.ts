/**
 * A gzip member (`.gz` file) built chunk by chunk with zlib's synchronous API: each chunk
 * is raw-deflated on its own and ended with a sync flush (a byte-aligned,
 * non-final block), so the pieces concatenate into one deflate stream; a
 * running CRC-32 and length make the trailer. No stream, no callback, no
 * thread pool hop: one call per chunk.
 */
import * as zlib from "node:zlib"

/** The 10-byte gzip header: deflate, no name, no mtime, unknown OS. */
const header = Uint8Array.of(0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff)

export interface GzipMember {
  /** The header (on the first call) and the compressed bytes of `chunk`. */
  readonly push: (chunk: Uint8Array) => ReadonlyArray<Uint8Array>
  /** The final deflate block and the trailer (CRC-32, length mod 2^32). */
  readonly end: () => ReadonlyArray<Uint8Array>
}

export const make = (level: number): GzipMember => {
  let started = false
  let crc = 0
  let size = 0
  const options: zlib.ZlibOptions = { level, finishFlush: zlib.constants.Z_SYNC_FLUSH }
  const start = (out: Array<Uint8Array>) => {
    if (!started) {
      started = true
      out.push(header)
    }
  }
  return {
    push: (chunk) => {
      const out: Array<Uint8Array> = []
      if (chunk.length === 0) return out
      start(out)
      crc = zlib.crc32(chunk, crc)
      size = (size + chunk.length) >>> 0
      out.push(zlib.deflateRawSync(chunk, options))
      return out
    },
    end: () => {
      const out: Array<Uint8Array> = []
      start(out)
      // An empty final block with fixed Huffman codes: BFINAL=1, BTYPE=01, end-of-block.
      out.push(Uint8Array.of(0x03, 0x00))
      const trailer = new Uint8Array(8)
      const view = new DataView(trailer.buffer)
      view.setUint32(0, crc >>> 0, true)
      view.setUint32(4, size, true)
      out.push(trailer)
      return out
    }
  }
}
