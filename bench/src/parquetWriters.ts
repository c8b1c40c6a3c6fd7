/**
 * The Parquet writers measured side by side (bench/src/parquet.ts), each fed the same `RowBatch`es and writing
 * row groups of 122,880 rows with SNAPPY into one file, on the calling thread: what a writer costs, apart from
 * where it runs. Each is written here as a user of the library would write it, not through our encoder, so the
 * comparison does not depend on the choice it informs.
 *
 * - hyparquet-writer: column arrays of JS values (a string a row), `ParquetWriter.write` a group.
 * - parquet-wasm + apache-arrow: Arrow columns built as bytes (offsets and data, no string a row), an IPC stream
 *   a group, parquet-wasm's `transformParquetStream` (arrow-rs's writer compiled to WebAssembly).
 * - DuckDB: the rows as NDJSON (the dataset's journal, written anyway), then `COPY (SELECT … FROM read_json(…))
 *   TO … (FORMAT parquet)` by DuckDB's own threads when the part finishes.
 */
import { AssociationRow, type RowBatch } from "@assoc-etl/core"
import { NdjsonEncoder } from "@assoc-etl/sink-ndjson"
import { DuckDBInstance } from "@duckdb/node-api"
import * as arrow from "apache-arrow"
import { Effect } from "effect"
import { ByteWriter, ParquetWriter } from "hyparquet-writer"
import type { ColumnSource, SchemaElement } from "hyparquet-writer"
import * as fs from "node:fs"
import * as pw from "parquet-wasm"

// Each writer's child process imports this whole module: the others' libraries are loaded but not used (about
// 10 MB of RSS each way, the same for every writer).

export const rowGroupRows = 122_880

export interface OpenWriter {
  readonly write: (batch: RowBatch.RowBatch) => Promise<void>
  readonly finish: () => Promise<void>
}

export interface Candidate {
  readonly name: string
  readonly open: (file: string) => OpenWriter
}

// ---------------------------------------------------------------------------------------------------------------
// hyparquet-writer

const hyparquetSchema: Array<SchemaElement> = [
  { name: "root", num_children: AssociationRow.columns.length },
  ...AssociationRow.columns.map((c): SchemaElement =>
    c.type === "int32"
      ? { name: c.name, type: "INT32", repetition_type: "REQUIRED" }
      : {
        name: c.name,
        type: "BYTE_ARRAY",
        converted_type: "UTF8",
        logical_type: { type: "STRING" },
        repetition_type: c.nullable ? "OPTIONAL" : "REQUIRED"
      }
  )
]

class FileByteWriter extends ByteWriter {
  constructor(private readonly fd: number) {
    super(1 << 20)
  }
  flush(): void {
    if (this.index > 0) fs.writeSync(this.fd, new Uint8Array(this.buffer, 0, this.index))
    this.index = 0
  }
  override finish(): void {
    this.flush()
  }
}

const hyparquet = (groupRows: number, label: string): Candidate => ({
  name: `hyparquet-writer 0.17.0${label}`,
  open: (file) => {
    const fd = fs.openSync(file, "w")
    const writer = new ParquetWriter({ writer: new FileByteWriter(fd), schema: hyparquetSchema, codec: "SNAPPY" })
    let cols: Array<Array<string | number | null>> = AssociationRow.columns.map(() => [])
    let buffered = 0
    const flush = () => {
      if (buffered === 0) return
      const columnData: Array<ColumnSource> = AssociationRow.columns.map((c, i) => ({ name: c.name, data: cols[i]! }))
      void writer.write({ columnData, rowGroupSize: Number.MAX_SAFE_INTEGER })
      cols = AssociationRow.columns.map(() => [])
      buffered = 0
    }
    return {
      write: async (batch) => {
        for (const g of batch.groups) {
          for (let r = g.start; r < g.end; r++) {
            const t = batch.types[batch.rows[3 * r + 2]!]!
            cols[0]!.push(g.fromType)
            cols[1]!.push(g.fromId)
            cols[2]!.push(g.toType)
            cols[3]!.push(batch.toId(r))
            cols[4]!.push(t.category)
            cols[5]!.push(t.typeId)
            cols[6]!.push(t.label)
            if (++buffered === groupRows) flush()
          }
        }
      },
      finish: async () => {
        flush()
        void writer.finish()
        fs.closeSync(fd)
      }
    }
  }
})

// ---------------------------------------------------------------------------------------------------------------
// parquet-wasm + apache-arrow

const utf8 = new TextEncoder()

/** A string column of Arrow: offsets and UTF-8 data, and validity when it may hold nulls. */
class StringColumn {
  private data = new Uint8Array(1 << 16)
  private size = 0
  private readonly offsets = new Int32Array(rowGroupRows + 1)
  private readonly validity: Uint8Array | undefined
  private count = 0
  private nulls = 0
  constructor(nullable: boolean) {
    this.validity = nullable ? new Uint8Array((rowGroupRows + 7) >> 3) : undefined
  }
  push(bytes: Uint8Array | null, start = 0, end = bytes === null ? 0 : bytes.length): void {
    const i = this.count++
    if (bytes === null) {
      this.nulls++
    } else {
      const length = end - start
      if (this.size + length > this.data.length) {
        const larger = new Uint8Array(Math.max(2 * this.data.length, this.size + length))
        larger.set(this.data.subarray(0, this.size))
        this.data = larger
      }
      for (let k = start; k < end; k++) this.data[this.size++] = bytes[k]!
      if (this.validity !== undefined) this.validity[i >> 3]! |= 1 << (i & 7)
    }
    this.offsets[i + 1] = this.size
  }
  take(): arrow.Data<arrow.Utf8> {
    const data = arrow.makeData({
      type: new arrow.Utf8(),
      length: this.count,
      nullCount: this.nulls,
      ...(this.validity === undefined ? {} : { nullBitmap: this.validity.slice(0, (this.count + 7) >> 3) }),
      valueOffsets: this.offsets.slice(0, this.count + 1),
      data: this.data.slice(0, this.size)
    })
    this.size = 0
    this.count = 0
    this.nulls = 0
    this.validity?.fill(0)
    return data
  }
}

const arrowFields = AssociationRow.columns.map((c) =>
  new arrow.Field(c.name, c.type === "int32" ? new arrow.Int32() : new arrow.Utf8(), c.nullable)
)
const arrowSchema = new arrow.Schema(arrowFields)

const parquetWasm = (compression: pw.Compression, label: string): Candidate => ({
  name: `parquet-wasm 0.8.0 + apache-arrow 21.2.0${label}`,
  open: (file) => {
    const fd = fs.openSync(file, "w")
    const strings = [0, 1, 2, 3, 4, 6].map((i) => new StringColumn(AssociationRow.columns[i]!.nullable))
    const [fromType, fromId, toType, toId, category, label] = strings as [
      StringColumn,
      StringColumn,
      StringColumn,
      StringColumn,
      StringColumn,
      StringColumn
    ]
    let typeIds = new Int32Array(rowGroupRows)
    let buffered = 0
    let controller!: ReadableStreamDefaultController<pw.RecordBatch>
    const input = new ReadableStream<pw.RecordBatch>({ start: (c) => void (controller = c) }, { highWaterMark: 1 })
    const props = new pw.WriterPropertiesBuilder().setCompression(compression).setMaxRowGroupSize(rowGroupRows)
      .setCreatedBy("assoc-etl bench").build()
    const pumped = pw.transformParquetStream(input, props).then(async (output) => {
      for await (const chunk of output as unknown as AsyncIterable<Uint8Array>) fs.writeSync(fd, chunk)
    })
    const flush = async () => {
      if (buffered === 0) return
      const children = [
        fromType.take(),
        fromId.take(),
        toType.take(),
        toId.take(),
        category.take(),
        arrow.makeData({ type: new arrow.Int32(), length: buffered, data: typeIds }),
        label.take()
      ]
      typeIds = new Int32Array(rowGroupRows)
      const batch = new arrow.RecordBatch(
        arrowSchema,
        arrow.makeData({ type: new arrow.Struct(arrowFields), length: buffered, children })
      )
      buffered = 0
      const table = pw.Table.fromIPCStream(arrow.tableToIPC(new arrow.Table([batch]), "stream"))
      for (const b of table.recordBatches()) controller.enqueue(b)
      // Waits for the writer to take it: at most one group waits in WebAssembly memory.
      while ((controller.desiredSize ?? 1) <= 0) await new Promise((resolve) => setImmediate(resolve))
    }
    const cache = new Map<string, Uint8Array>()
    const bytesOf = (s: string) => {
      let b = cache.get(s)
      if (b === undefined) {
        b = utf8.encode(s)
        if (cache.size < 1000) cache.set(s, b)
      }
      return b
    }
    return {
      write: async (batch) => {
        const types = batch.types.map((t) => ({
          category: bytesOf(t.category),
          typeId: t.typeId,
          label: t.label === null ? null : bytesOf(t.label)
        }))
        for (const g of batch.groups) {
          const ft = bytesOf(g.fromType)
          const fi = utf8.encode(g.fromId)
          const tt = bytesOf(g.toType)
          for (let r = g.start; r < g.end; r++) {
            const t = types[batch.rows[3 * r + 2]!]!
            fromType.push(ft)
            fromId.push(fi)
            toType.push(tt)
            toId.push(batch.bytes, batch.rows[3 * r]!, batch.rows[3 * r + 1]!)
            category.push(t.category)
            typeIds[buffered] = t.typeId
            label.push(t.label)
            if (++buffered === rowGroupRows) await flush()
          }
        }
      },
      finish: async () => {
        await flush()
        controller.close()
        await pumped
        fs.closeSync(fd)
      }
    }
  }
})

// ---------------------------------------------------------------------------------------------------------------
// DuckDB

const duckColumns = `{${
  AssociationRow.columns.map((c) => `${c.name}: '${c.type === "int32" ? "INTEGER" : "VARCHAR"}'`).join(", ")
}}`
const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`

/** Seconds the NDJSON journal took, of the last DuckDB run (reported apart: the dataset writes it anyway). */
export const duckDbJournalSeconds = { last: 0 }

const duckDb: Candidate = {
  name: "DuckDB 1.5.6 (COPY from the NDJSON journal)",
  open: (file) => {
    const journal = `${file}.ndjson`
    const fd = fs.openSync(journal, "w")
    const writer = Effect.runSync(NdjsonEncoder.make().open)
    let journalMillis = 0
    return {
      write: async (batch) => {
        const t0 = performance.now()
        for (const chunk of Effect.runSync(writer.write(batch))) fs.writeSync(fd, chunk)
        journalMillis += performance.now() - t0
      },
      finish: async () => {
        for (const chunk of Effect.runSync(writer.finish)) fs.writeSync(fd, chunk)
        fs.closeSync(fd)
        duckDbJournalSeconds.last = journalMillis / 1000
        const instance = await DuckDBInstance.create(":memory:")
        const connection = await instance.connect()
        await connection.run(
          `COPY (SELECT * FROM read_json(${sqlString(journal)}, format = 'newline_delimited', columns = ${duckColumns}))
           TO ${sqlString(file)} (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE ${rowGroupRows})`
        )
        connection.closeSync()
        instance.closeSync()
        fs.rmSync(journal)
      }
    }
  }
}

export const candidates: ReadonlyArray<Candidate> = [
  hyparquet(4096, ", 4,096 rows a group (the encoder before issue 19)"),
  hyparquet(rowGroupRows, ""),
  parquetWasm(pw.Compression.SNAPPY, ""),
  duckDb,
  parquetWasm(pw.Compression.ZSTD, ", ZSTD")
]
