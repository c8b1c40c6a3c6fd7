/**
 * The NDJSON part encoder: one JSON object a line, the columns in DESIGN.md's
 * order (core's `NdjsonRows`, the dataset journal's own lines), optionally
 * gzipped. Each batch of rows becomes one buffer (never one write per row).
 */
import { NdjsonRows, PartEncoder as Encoders } from "@assoc-etl/core"
import type { PartEncoder } from "@assoc-etl/core"
import { Effect } from "effect"
import * as zlib from "node:zlib"
import * as Gzip from "./GzipMember.js"

export interface NdjsonEncoderOptions {
  /** Gzip each part (a single gzip member, `.ndjson.gz`). Default `false`. */
  readonly gzip?: boolean
  /** The deflate level, 0 (store) to 9; default zlib's default (6). Only with `gzip`. */
  readonly level?: number
}

export const format = "ndjson"

const none: ReadonlyArray<Uint8Array> = []

const plainWriter: PartEncoder.PartWriter = {
  write: (rows) =>
    Effect.sync(() => (rows.length === 0 ? none : [NdjsonRows.encode(rows)])),
  finish: Effect.succeed(none)
}

const gzipWriter = (level: number): PartEncoder.PartWriter => {
  const member = Gzip.make(level)
  return {
    write: (rows) =>
      Effect.sync(() => (rows.length === 0 ? none : member.push(NdjsonRows.encode(rows)))),
    finish: Effect.sync(() => member.end())
  }
}

/** An NDJSON encoder: format `"ndjson"`, extension `.ndjson` (or `.ndjson.gz` with `gzip`). */
export const make = (options?: NdjsonEncoderOptions): PartEncoder.PartEncoder => {
  if (options?.gzip === true) {
    const level = options.level ?? zlib.constants.Z_DEFAULT_COMPRESSION
    if (!Number.isInteger(level) || level < -1 || level > 9) {
      throw new RangeError(`gzip level must be an integer from 0 to 9, got ${level}`)
    }
    return {
      format,
      extension: ".ndjson.gz",
      open: Effect.sync(() => gzipWriter(level)),
      encodeTable: (table) => Effect.sync(() => zlib.gzipSync(Encoders.tableToNdjson(table), { level }))
    }
  }
  return {
    format,
    extension: ".ndjson",
    open: Effect.succeed(plainWriter),
    partIsJournal: true,
    encodeTable: (table) => Effect.sync(() => Encoders.tableToNdjson(table))
  }
}
