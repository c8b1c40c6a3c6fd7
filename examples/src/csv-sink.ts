/**
 * A resumable export into a sink of your own, a CSV file: `commit` syncs the rows, then records their length
 * with the checkpoint (written aside, synced, renamed); `open` cuts the file back to the last commit. Kill it
 * at any moment and run it again: each association is in the file once. (HUBSPOT_ACCESS_TOKEN=... node
 * examples/dist/csv-sink.js ids.txt out.csv)
 */
import { type AssociationRow, Export, IdSource, ObjectType, type RowSink } from "@assoc-etl/core"
import { BatchRead, HubSpotClient, RequestBudget } from "@assoc-etl/hubspot"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer, Option, Schema } from "effect"
import * as fs from "node:fs"

const [idFile = "ids.txt", csv = "associations.csv"] = process.argv.slice(2)
const saved = `${csv}.checkpoint` // the last commit: the CSV's length then, and the export's checkpoint

const field = (s: string | null) => (s === null ? "" : /[",\r\n]/.test(s) ? `"${s.replaceAll("\"", "\"\"")}"` : s)
const line = (r: AssociationRow.AssociationRow) =>
  [r.from_object_id, r.to_object_id, field(r.association_category), r.association_type_id, field(r.association_label)]
    .join(",") + "\n"

const csvSink: RowSink.RowSink<void, unknown> = {
  open: (checkpoint) =>
    Effect.try(() => {
      const json = Schema.parseJson(checkpoint)
      const last = fs.existsSync(saved) ? JSON.parse(fs.readFileSync(saved, "utf8")) : undefined
      if (last === undefined) fs.writeFileSync(csv, "from_id,to_id,category,type_id,label\n")
      else fs.truncateSync(csv, last.bytes) // what came after the last commit goes
      const file = fs.openSync(csv, "a")
      let bytes = fs.fstatSync(file).size // the file's length at the last commit, then as appended
      const commit = (payload: typeof checkpoint.Type, finished = false) =>
        Effect.try(() => {
          fs.fsyncSync(file)
          const temp = fs.openSync(`${saved}.tmp`, "w")
          fs.writeSync(temp, JSON.stringify({ bytes, finished, payload: Schema.encodeSync(json)(payload) }))
          fs.fsyncSync(temp) // the checkpoint is whole on disk before it replaces the last one
          fs.closeSync(temp)
          fs.renameSync(`${saved}.tmp`, saved)
        })
      return {
        resumed: last === undefined ? Option.none() : Option.some(Schema.decodeSync(json)(last.payload)),
        finished: last?.finished === true ? Option.some(undefined) : Option.none(),
        append: (rows) => Effect.try(() => void (bytes += fs.writeSync(file, Array.from(rows, line).join("")))),
        commit: (payload) => commit(payload),
        finish: (payload) => commit(payload, true)
      }
    })
}

const program = Export.run({
  pair: { fromType: ObjectType.unsafeMake("contacts"), toType: ObjectType.unsafeMake("companies") },
  source: IdSource.fromFile(idFile),
  stage: BatchRead.stage(),
  sink: csvSink
}).pipe(Effect.tap((summary) => Effect.log(`${summary.status}: ${summary.rows} rows`)))

const client = HubSpotClient.layerConfig().pipe(Layer.provide([RequestBudget.layer(), NodeHttpClient.layerUndici]))
NodeRuntime.runMain(program.pipe(Effect.provide(Layer.merge(client, NodeContext.layer))))
