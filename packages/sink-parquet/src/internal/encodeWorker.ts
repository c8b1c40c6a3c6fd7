/**
 * The Parquet encoder's worker thread: rows come in as compact batches (`protocol.ts`), are laid out as Arrow
 * columns a row group at a time (offsets and UTF-8 bytes, no string a row), and go to parquet-wasm's streaming
 * writer (arrow-rs compiled to WebAssembly: dictionary pages, min/max statistics on every column chunk and page,
 * SNAPPY / ZSTD), whose bytes go back to the main thread as they come.
 *
 * This module imports neither `effect` nor `@assoc-etl/core`: what it needs is in `workerData`, so the thread
 * starts on Arrow and parquet-wasm alone.
 *
 * Flow control: the writer's input holds at most one group waiting (`highWaterMark` 1); each time the writer
 * asks for more, the rows of every group handed to it so far are reported `taken`, and the main thread sends no
 * more than a bound of rows beyond what was taken. So this thread holds at most about that bound of rows, the
 * group being built, and the group being encoded.
 */
import * as arrow from "apache-arrow"
import * as pw from "parquet-wasm"
import { parentPort, workerData } from "node:worker_threads"
import type { Column, FromMain, Rows, Setup, TableMessage, ToMain } from "./protocol.js"

const port = parentPort!
const setup = workerData as Setup
const utf8 = new TextEncoder()

const post = (message: ToMain, transfer: ReadonlyArray<ArrayBuffer> = []) => port.postMessage(message, [...transfer])

const compressionOf = (name: Setup["compression"]): pw.Compression =>
  name === "zstd" ? pw.Compression.ZSTD : name === "none" ? pw.Compression.UNCOMPRESSED : pw.Compression.SNAPPY

/**
 * The writer's settings. Dictionaries: arrow-rs starts every column with one and goes on in PLAIN once a row
 * group's dictionary passes the page limit. At 128 KiB (its default is 1 MiB) a column of many distinct values
 * (the from ids of objects with few associations) stops early, where SNAPPY on its plain values is smaller, and
 * one of repeated values (the from ids of a typical export, types, labels) keeps its dictionary. The to ids
 * rarely repeat within a group: no dictionary. Measured against DuckDB's own writer in BENCHMARKS.md (issue 19).
 * `created_by` stays arrow-rs's own ("parquet-rs version …"): readers decide by it which statistics to trust.
 */
const properties = (rowGroupRows: number) =>
  new pw.WriterPropertiesBuilder()
    .setCompression(compressionOf(setup.compression))
    .setMaxRowGroupSize(rowGroupRows)
    .setStatisticsEnabled(pw.EnabledStatistics.Page)
    .setDictionaryPageSizeLimit(128 * 1024)
    .setColumnDictionaryEnabled("to_object_id", false)
    .build()

const arrowSchema = (columns: ReadonlyArray<Column>) => {
  const fields = columns.map((c) =>
    new arrow.Field(c.name, c.type === "int32" ? new arrow.Int32() : new arrow.Utf8(), c.nullable)
  )
  return { fields, schema: new arrow.Schema(fields) }
}

/** A column of UTF-8 strings for one row group: offsets, bytes, and validity when it may hold nulls. */
class StringColumn {
  private data = new Uint8Array(1 << 16)
  private size = 0
  private offsets: Int32Array
  private validity: Uint8Array | undefined
  private count = 0
  private nulls = 0

  constructor(private readonly capacity: number, private readonly nullable: boolean) {
    this.offsets = new Int32Array(capacity + 1)
    this.validity = nullable ? new Uint8Array((capacity + 7) >> 3) : undefined
  }

  private room(length: number): void {
    if (this.size + length > this.data.length) {
      const larger = new Uint8Array(Math.max(2 * this.data.length, this.size + length))
      larger.set(this.data.subarray(0, this.size))
      this.data = larger
    }
  }

  /** Appends `bytes[start, end)` as the next value. */
  push(bytes: Uint8Array, start: number, end: number): void {
    const length = end - start
    this.room(length)
    const data = this.data
    let at = this.size
    if (length > 32) {
      data.set(bytes.subarray(start, end), at)
      at += length
    } else {
      for (let k = start; k < end; k++) data[at++] = bytes[k]!
    }
    this.size = at
    if (this.validity !== undefined) this.validity[this.count >> 3]! |= 1 << (this.count & 7)
    this.offsets[++this.count] = at
  }

  /** Appends the same value `n` times. */
  repeat(bytes: Uint8Array | null, n: number): void {
    if (bytes === null) {
      for (let i = 0; i < n; i++) this.offsets[++this.count] = this.size
      this.nulls += n
      return
    }
    for (let i = 0; i < n; i++) this.push(bytes, 0, bytes.length)
  }

  /**
   * Appends `text.slice(start, end)` `n` times: its characters as they are while ASCII (no string made), else its
   * UTF-8 bytes.
   */
  repeatString(text: string, start: number, end: number, n: number): void {
    for (let k = start; k < end; k++) {
      if (text.charCodeAt(k) >= 0x80) return this.repeat(utf8.encode(text.slice(start, end)), n)
    }
    this.room(n * (end - start))
    const data = this.data
    let at = this.size
    for (let i = 0; i < n; i++) {
      for (let k = start; k < end; k++) data[at++] = text.charCodeAt(k)
      if (this.validity !== undefined) this.validity[this.count >> 3]! |= 1 << (this.count & 7)
      this.offsets[++this.count] = at
    }
    this.size = at
  }

  /** The column so far as Arrow data; the builder starts over. */
  take(): arrow.Data<arrow.Utf8> {
    const count = this.count
    const data = arrow.makeData({
      type: new arrow.Utf8(),
      length: count,
      nullCount: this.nulls,
      ...(this.validity === undefined ? {} : { nullBitmap: this.validity.subarray(0, (count + 7) >> 3) }),
      valueOffsets: this.offsets.subarray(0, count + 1),
      data: this.data.subarray(0, this.size)
    })
    // Fresh buffers for the next group: the IPC writer has copied these by the time they would be reused, but
    // Arrow's `Data` may be kept by the caller.
    this.data = new Uint8Array(Math.max(1 << 16, this.size))
    this.offsets = new Int32Array(this.capacity + 1)
    this.validity = this.nullable ? new Uint8Array((this.capacity + 7) >> 3) : undefined
    this.size = 0
    this.count = 0
    this.nulls = 0
    return data
  }
}

/** An INT32 column for one row group (no nulls: the only int32 column, `association_type_id`, has none). */
class IntColumn {
  private values: Int32Array
  private count = 0
  constructor(private readonly capacity: number) {
    this.values = new Int32Array(capacity)
  }
  repeat(value: number, n: number): void {
    this.values.fill(value, this.count, this.count + n)
    this.count += n
  }
  take(): arrow.Data<arrow.Int32> {
    const data = arrow.makeData({
      type: new arrow.Int32(),
      length: this.count,
      data: this.values.subarray(0, this.count)
    })
    this.values = new Int32Array(this.capacity)
    this.count = 0
    return data
  }
}

/** The UTF-8 bytes of the strings met again and again (object types, categories, labels). */
const bytesCache = new Map<string, Uint8Array>()
const bytesOf = (s: string): Uint8Array => {
  let b = bytesCache.get(s)
  if (b === undefined) {
    b = utf8.encode(s)
    if (bytesCache.size < 4096) bytesCache.set(s, b)
  }
  return b
}

/**
 * The part's writer: rows in, row groups to parquet-wasm's stream, its bytes out. `finish` closes the stream;
 * the last bytes (the footer) come when it has drained.
 */
class PartBuilder {
  private readonly groupRows = setup.rowGroupRows
  private readonly fromType = new StringColumn(this.groupRows, false)
  private readonly fromId = new StringColumn(this.groupRows, false)
  private readonly toType = new StringColumn(this.groupRows, false)
  private readonly toId = new StringColumn(this.groupRows, false)
  private readonly category = new StringColumn(this.groupRows, false)
  private readonly typeId = new IntColumn(this.groupRows)
  private readonly label = new StringColumn(this.groupRows, true)
  private buffered = 0
  /** Rows handed to the parquet writer's input, and of those, the rows it has asked past. */
  private handed = 0
  private readonly arrow = arrowSchema(setup.columns)
  private controller!: ReadableStreamDefaultController<pw.RecordBatch>
  private readonly drained: Promise<void>

  constructor() {
    const input = new ReadableStream<pw.RecordBatch>({
      start: (controller) => void (this.controller = controller),
      // The writer asks for more: what it was handed is its own now, encoded or being encoded.
      pull: () => post({ _tag: "Taken", rows: this.handed })
    }, { highWaterMark: 1 })
    this.drained = pw.transformParquetStream(input, properties(this.groupRows)).then(async (output) => {
      for await (const chunk of output as unknown as AsyncIterable<Uint8Array>) {
        // A view of WebAssembly memory may come; a copy of its own is what can be transferred.
        const whole = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength
        const own = whole && chunk.buffer instanceof ArrayBuffer ? chunk : chunk.slice()
        post({ _tag: "Bytes", bytes: own }, [own.buffer as ArrayBuffer])
      }
    })
  }

  add(m: Rows): void {
    const types = m.types.map(([category, typeId, label]) => ({
      category: bytesOf(category),
      typeId,
      label: label === null ? null : bytesOf(label)
    }))
    const { bytes, rows } = m
    const pairs = m.pairs.map(([fromType, toType]) => [bytesOf(fromType), bytesOf(toType)] as const)
    for (let g = 0; g < m.groupPair.length; g++) {
      const [fromType, toType] = pairs[m.groupPair[g]!]!
      const idStart = g === 0 ? 0 : m.fromIdEnds[g - 1]!
      const idEnd = m.fromIdEnds[g]!
      let row = m.groupRanges[2 * g]!
      const end = m.groupRanges[2 * g + 1]!
      while (row < end) {
        const n = Math.min(end - row, this.groupRows - this.buffered)
        this.fromType.repeat(fromType, n)
        this.fromId.repeatString(m.fromIds, idStart, idEnd, n)
        this.toType.repeat(toType, n)
        // Runs of one type: consecutive rows of a from object often share it.
        for (let r = row; r < row + n;) {
          this.toId.push(bytes, rows[3 * r]!, rows[3 * r + 1]!)
          const t = rows[3 * r + 2]!
          let next = r + 1
          while (next < row + n && rows[3 * next + 2] === t) {
            this.toId.push(bytes, rows[3 * next]!, rows[3 * next + 1]!)
            next++
          }
          const type = types[t]!
          this.category.repeat(type.category, next - r)
          this.typeId.repeat(type.typeId, next - r)
          this.label.repeat(type.label, next - r)
          r = next
        }
        row += n
        this.buffered += n
        if (this.buffered === this.groupRows) this.flush()
      }
    }
  }

  /** The rows built so far as one row group, handed to the writer. */
  private flush(): void {
    if (this.buffered === 0) return
    const children = [
      this.fromType.take(),
      this.fromId.take(),
      this.toType.take(),
      this.toId.take(),
      this.category.take(),
      this.typeId.take(),
      this.label.take()
    ]
    const batch = new arrow.RecordBatch(
      this.arrow.schema,
      arrow.makeData({ type: new arrow.Struct(this.arrow.fields), length: this.buffered, children })
    )
    this.handed += this.buffered
    this.buffered = 0
    enqueue(this.controller, batch)
  }

  async finish(): Promise<void> {
    this.flush()
    // A part with no rows: one empty batch carries the schema, so the file still has it.
    if (this.handed === 0) enqueue(this.controller, emptyBatch(this.arrow))
    this.controller.close()
    await this.drained
  }
}

const enqueue = (controller: ReadableStreamDefaultController<pw.RecordBatch>, batch: arrow.RecordBatch) => {
  const table = pw.Table.fromIPCStream(arrow.tableToIPC(new arrow.Table([batch]), "stream"))
  for (const b of table.recordBatches()) controller.enqueue(b)
  table.free()
}

const emptyBatch = (a: ReturnType<typeof arrowSchema>) =>
  new arrow.RecordBatch(
    a.schema,
    arrow.makeData({
      type: new arrow.Struct(a.fields),
      length: 0,
      children: a.fields.map((f) =>
        f.type instanceof arrow.Int32
          ? arrow.makeData({ type: new arrow.Int32(), length: 0, data: new Int32Array(0) })
          : arrow.makeData({
            type: new arrow.Utf8(),
            length: 0,
            valueOffsets: new Int32Array(1),
            data: new Uint8Array(0)
          })
      )
    })
  )

/** A small table whole: one row group, one call. */
const encodeTable = (m: TableMessage): Uint8Array => {
  const a = arrowSchema(m.columns)
  const n = m.rows.length
  const children = m.columns.map((c, i) => {
    if (c.type === "int32") {
      const values = new Int32Array(n)
      m.rows.forEach((row, r) => (values[r] = Number(row[i] ?? 0)))
      return arrow.makeData({ type: new arrow.Int32(), length: n, data: values })
    }
    const column = new StringColumn(Math.max(n, 1), c.nullable)
    for (const row of m.rows) {
      const v = row[i] ?? null
      if (v === null) column.repeat(null, 1)
      else column.repeat(utf8.encode(String(v)), 1)
    }
    return column.take()
  })
  const batch = new arrow.RecordBatch(
    a.schema,
    arrow.makeData({ type: new arrow.Struct(a.fields), length: n, children })
  )
  const table = pw.Table.fromIPCStream(arrow.tableToIPC(new arrow.Table([batch]), "stream"))
  return pw.writeParquet(table, properties(Math.max(n, 1)))
}

let part: PartBuilder | undefined

const fail = (error: unknown) =>
  post({ _tag: "Failed", message: error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error) })

port.on("message", (m: FromMain) => {
  try {
    switch (m._tag) {
      case "Rows":
        ;(part ??= new PartBuilder()).add(m)
        break
      case "Finish": {
        // The next part, if this worker is kept for one, starts afresh.
        const finishing = part ?? new PartBuilder()
        part = undefined
        finishing.finish().then(() => post({ _tag: "Finished" }), fail)
        break
      }
      case "Table": {
        const bytes = encodeTable(m)
        post({ _tag: "TableBytes", bytes }, [bytes.buffer as ArrayBuffer])
        break
      }
    }
  } catch (error) {
    fail(error)
  }
})
