/**
 * Helpers for encoder tests: sample rows that hit every edge of the format,
 * scoped temporary directories, and writing a part from an encoder to a file.
 */
import type { AssociationRow, PartEncoder } from "@assoc-etl/core"
import { RowBatch } from "@assoc-etl/core"
import type { Scope } from "effect"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

type Row = AssociationRow.AssociationRow

const row = (
  from: string,
  to: string,
  typeId: number,
  label: string | null,
  category = "HUBSPOT_DEFINED"
): Row => ({
  from_object_type: "contacts",
  from_object_id: from,
  to_object_type: "companies",
  to_object_id: to,
  association_category: category,
  association_type_id: typeId,
  association_label: label
})

/** Rows whose labels and ids stress an encoder: nulls, quotes, separators, unicode, ids past 2^53, int32 bounds. */
export const edgeRows: ReadonlyArray<Row> = [
  row("1", "9001", 1, "Primary"),
  row("1", "9001", 279, null),
  row("2", "9002", 3, ""),
  row("3", "9003", 4, "say \"hi\", then 'bye'"),
  row("4", "9004", 5, "a,b;c\td|e"),
  row("5", "9005", 6, "line one\nline two\r\nline three"),
  row("6", "9006", 7, "back\\slash and \u0000 nul and \u001f unit separator"),
  row("7", "9007", 8, "emoji 🚀👩‍💻🇫🇷"),
  row("8", "9008", 9, "中文标签 日本語 한국어"),
  row("9", "9009", 10, "עברית مرحبا"),
  row("9007199254740993", "18446744073709551615", 2147483647, "ids past 2^53", "USER_DEFINED"),
  row("12345678901234567890", "9007199254740992", -2147483648, null, "INTEGRATOR_DEFINED"),
  row("0", "00042", 0, "leading zeros stay")
]

const categories = ["HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED"] as const
const labels = ["Primary", "Billing contact", "Decision maker", "Champion", "Former employee", "Partner"] as const

/**
 * `n` realistic rows: digit-string ids, each from object with a few to objects, a few categories and type ids,
 * about 30% null labels. Deterministic.
 */
export const syntheticRows = (n: number, seed = 1): Array<Row> => {
  let s = seed >>> 0
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s
  }
  const rows: Array<Row> = []
  let from = 100_000_000 + (next() % 1000)
  while (rows.length < n) {
    from += 1 + (next() % 7)
    const tos = 1 + (next() % 5)
    for (let t = 0; t < tos && rows.length < n; t++) {
      const r = next()
      const category = categories[r % 3]!
      const typeId = category === "HUBSPOT_DEFINED" ? 1 + (r % 2) * 278 : 10 + (r % 5)
      rows.push(row(String(from), String(5_000_000_000 + (next() % 10_000_000)), typeId,
        r % 10 < 3 ? null : labels[(r >>> 4) % labels.length]!, category))
    }
  }
  return rows
}

/** A temporary directory, removed with everything in it when the scope closes. */
export const tempDir: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "assoc-etl-test-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** Every byte of one part: `open`, one `write` a chunk (as a `RowBatch`), `finish`, concatenated. */
export const encodePart = (
  encoder: PartEncoder.PartEncoder,
  chunks: Iterable<ReadonlyArray<Row>>
): Effect.Effect<Buffer> =>
  Effect.gen(function*() {
    const writer = yield* encoder.open
    const out: Array<Uint8Array> = []
    for (const chunk of chunks) out.push(...(yield* writer.write(RowBatch.fromRows(chunk))))
    out.push(...(yield* writer.finish))
    return Buffer.concat(out)
  })

/** Encodes one part and writes it to `file`; returns the bytes. */
export const writePart = (
  encoder: PartEncoder.PartEncoder,
  file: string,
  chunks: Iterable<ReadonlyArray<Row>>
): Effect.Effect<Buffer> =>
  Effect.tap(encodePart(encoder, chunks), (bytes) => Effect.sync(() => fs.writeFileSync(file, bytes)))

/** `rows` in chunks of `size` (the last one shorter). */
export const chunksOf = <A>(rows: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size))
  return out
}
