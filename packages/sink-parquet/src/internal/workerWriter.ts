/**
 * The main thread's side of the Parquet encoder: a part's rows go to a worker thread (`encodeWorker.ts`) as
 * compact batches, and its bytes come back; `write` returns the bytes that came since the last call, so the
 * dataset appends them to the part's temp file as before, and never waits on an encode.
 *
 * Flow control: `write` waits only when more than `aheadRows` rows are sent and not yet taken by the Parquet
 * writer, so the rows held between the two threads stay bounded (about two row groups) whatever the part's
 * size; while the worker keeps up, it never waits. The worker keeps the process alive only while something
 * waits on it (`ref` then, `unref` otherwise): an abandoned part never holds the process open, and `close`
 * ends its thread.
 *
 * A finished part's worker waits, idle and unref'd, for the encoder's next part (a roll-over opens it at once),
 * and ends after `idleMillis` without one: starting a worker costs about 0.3 s of CPU (Arrow's modules and
 * parquet-wasm's WebAssembly).
 */
import type { PartEncoder, RowBatch } from "@assoc-etl/core"
import { Effect, Exit } from "effect"
import { createRequire } from "node:module"
import * as path from "node:path"
import { Worker } from "node:worker_threads"
import type { Rows, Setup, TableMessage, ToMain } from "./protocol.js"

/**
 * The worker's compiled entry, found through this package's own package.json: the same code then works from
 * `dist/` (ES modules), from the TypeScript sources under a test runner, and bundled into the CLI's single
 * CommonJS file, whose `require` resolves from the CLI's dependencies, which hold this package.
 */
const workerFile = (): string => {
  const resolve = typeof require === "function" ? require.resolve : createRequire(moduleUrl()).resolve
  return path.join(path.dirname(resolve("@assoc-etl/sink-parquet/package.json")), "dist", "internal", "encodeWorker.js")
}

/**
 * This module's URL, as an ES module. Read inside a `try`: bundled into CommonJS, `import.meta` is empty (and
 * `require` serves instead), and esbuild, seeing the `try`, does not warn about it in the CLI's bundle.
 */
const moduleUrl = (): string => {
  try {
    return import.meta.url
  } catch {
    return ""
  }
}


/**
 * A `RowBatch` as a `Rows` message, and the buffers to transfer with it: copies of its arrays (the caller keeps
 * the batch), which cost a `memcpy` here; the rows are read one by one in the worker.
 */
const toMessage = (batch: RowBatch.RowBatch): [Rows, Array<ArrayBuffer>] => {
  const groups = batch.groups
  const groupRanges = new Int32Array(2 * groups.length)
  const groupPair = new Int32Array(groups.length)
  const fromIdEnds = new Int32Array(groups.length)
  const pairs: Array<readonly [string, string]> = []
  let fromIds = ""
  for (let g = 0; g < groups.length; g++) {
    const { end, fromId, fromType, start, toType } = groups[g]!
    groupRanges[2 * g] = start
    groupRanges[2 * g + 1] = end
    let p = pairs.length - 1
    if (p < 0 || pairs[p]![0] !== fromType || pairs[p]![1] !== toType) {
      p = pairs.findIndex(([f, t]) => f === fromType && t === toType)
      if (p < 0) p = pairs.push([fromType, toType]) - 1
    }
    groupPair[g] = p
    fromIds += fromId
    fromIdEnds[g] = fromIds.length
  }
  const bytes = batch.bytes.slice()
  const rows = batch.rows.slice()
  const types = batch.types.map((t) => [t.category, t.typeId, t.label] as const)
  return [
    { _tag: "Rows", groupRanges, groupPair, pairs, fromIds, fromIdEnds, bytes, rows, types },
    [groupRanges.buffer, groupPair.buffer, fromIdEnds.buffer, bytes.buffer, rows.buffer]
  ]
}

/** A worker's failure: a bug or a broken install, not a condition of the data, so a defect. */
const workerDied = (detail: string) => new Error(`the Parquet encoder's worker failed: ${detail}`)

/** The state of one worker, fed by its messages. */
class Channel {
  readonly chunks: Array<Uint8Array> = []
  taken = 0
  finished = false
  table: Uint8Array | undefined
  failure: Error | undefined
  private waiters: Array<() => void> = []
  private waiting = 0

  private readonly listeners: {
    readonly message: (m: ToMain) => void
    readonly error: (e: Error) => void
    readonly exit: (code: number) => void
  }

  constructor(readonly worker: Worker) {
    worker.unref()
    const message = (m: ToMain) => {
      switch (m._tag) {
        case "Bytes":
          this.chunks.push(m.bytes)
          break
        case "Taken":
          this.taken = m.rows
          break
        case "Finished":
          this.finished = true
          break
        case "TableBytes":
          this.table = m.bytes
          break
        case "Failed":
          this.failure = workerDied(m.message)
          break
      }
      this.wake()
    }
    const error = (e: Error) => {
      this.failure ??= workerDied(e.message)
      this.wake()
    }
    const exit = (code: number) => {
      this.failure ??= workerDied(`its thread exited (${code})`)
      this.wake()
    }
    this.listeners = { message, error, exit }
    worker.on("message", message).on("error", error).on("exit", exit)
  }

  /** Stops listening: the worker goes back to the pool, for another part. */
  detach(): Worker {
    this.worker.off("message", this.listeners.message).off("error", this.listeners.error)
      .off("exit", this.listeners.exit)
    return this.worker
  }

  private wake(): void {
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w()
  }

  /** Waits, without holding the event loop, until `done()`; the worker keeps the process alive meanwhile. */
  until(done: () => boolean): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      const check = () => {
        if (this.failure !== undefined) {
          this.release()
          resume(Effect.die(this.failure))
        } else if (done()) {
          this.release()
          resume(Effect.void)
        } else {
          this.waiters.push(check)
        }
      }
      if (this.waiting++ === 0) this.worker.ref()
      check()
      return Effect.sync(() => {
        this.waiters = this.waiters.filter((w) => w !== check)
        this.release()
      })
    })
  }

  private release(): void {
    if (--this.waiting === 0) this.worker.unref()
  }

  drain(): ReadonlyArray<Uint8Array> {
    return this.chunks.splice(0, this.chunks.length)
  }
}

/** How long a finished part's worker waits for the encoder's next part before it ends. */
export const idleMillis = 2000

/** The workers of one encoder: at most one idle, kept for the next part (see the module's comment). */
export class Pool {
  private idle: { readonly worker: Worker; readonly timer: NodeJS.Timeout } | undefined

  constructor(private readonly setup: Setup) {}

  acquire(): Worker {
    const idle = this.idle
    if (idle === undefined) return new Worker(entry ??= workerFile(), { workerData: this.setup })
    this.idle = undefined
    clearTimeout(idle.timer)
    return idle.worker
  }

  /** Keeps `worker`, idle, for the next part (ending the one kept before, if any). */
  release(worker: Worker): void {
    this.end()
    const timer = setTimeout(() => this.end(), idleMillis).unref()
    worker.unref()
    this.idle = { worker, timer }
  }

  private end(): void {
    if (this.idle === undefined) return
    clearTimeout(this.idle.timer)
    void this.idle.worker.terminate()
    this.idle = undefined
  }
}

let entry: string | undefined

export interface WorkerWriterOptions {
  readonly pool: Pool
  /** The most rows sent and not yet taken by the Parquet writer before `write` waits. */
  readonly aheadRows: number
}

/** A part's writer whose encoding runs in a worker thread. */
export const open = (options: WorkerWriterOptions): PartEncoder.PartWriter => {
  const channel = new Channel(options.pool.acquire())
  let sent = 0
  /** Finished: the worker went back to the pool. */
  let released = false
  return {
    write: (batch) =>
      Effect.suspend(() => {
        if (channel.failure !== undefined) return Effect.die(channel.failure)
        if (batch.length > 0) {
          const [message, transfer] = toMessage(batch)
          channel.worker.postMessage(message, transfer)
          sent += batch.length
        }
        return sent - channel.taken > options.aheadRows
          ? Effect.as(channel.until(() => sent - channel.taken <= options.aheadRows), channel.drain())
          : Effect.succeed(channel.drain())
      }),
    finish: Effect.suspend(() => {
      channel.worker.postMessage({ _tag: "Finish" })
      return channel.until(() => channel.finished)
    }).pipe(
      Effect.map(() => {
        released = true
        options.pool.release(channel.detach())
        return channel.drain()
      })
    ),
    // Unfinished, the worker holds a part's state: it ends.
    close: Effect.suspend(() =>
      released ? Effect.void : Effect.asVoid(Effect.promise(() => channel.worker.terminate()))
    )
  }
}

/** A small table whole, as the bytes of one Parquet file, encoded by a worker of the pool. */
export const encodeTable = (pool: Pool, table: PartEncoder.Table): Effect.Effect<Uint8Array> =>
  Effect.acquireUseRelease(
    Effect.sync(() => new Channel(pool.acquire())),
    (channel) =>
      Effect.suspend(() => {
        const message: TableMessage = { _tag: "Table", columns: table.columns, rows: table.rows }
        channel.worker.postMessage(message)
        return channel.until(() => channel.table !== undefined)
      }).pipe(Effect.map(() => channel.table!)),
    (channel, exit) =>
      Exit.isSuccess(exit)
        ? Effect.sync(() => pool.release(channel.detach()))
        : Effect.promise(() => channel.worker.terminate())
  )
