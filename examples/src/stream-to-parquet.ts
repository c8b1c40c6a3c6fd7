/**
 * Ids from a stream of your own (a query of your warehouse, a cursor over a table...) into the Parquet
 * dataset: here an async generator that reads a JSON array of ids a page at a time, as a database cursor would.
 * Without a `key`, `IdSource.fromStream` copies the ids aside first and their digest identifies them: a resume
 * must see the same ids again, and does, from the same query.
 *
 *   HUBSPOT_ACCESS_TOKEN=... node examples/dist/stream-to-parquet.js contact-ids.json ./out/contacts-companies
 */
import { Dataset, Export, IdSource, ObjectId, ObjectType } from "@assoc-etl/core"
import { BatchRead, HubSpotClient, RequestBudget } from "@assoc-etl/hubspot"
import { ParquetEncoder } from "@assoc-etl/sink-parquet"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer, Stream } from "effect"
import { readFile } from "node:fs/promises"

const [idsJson = "contact-ids.json", out = "out/contacts-companies"] = process.argv.slice(2)

/** Your query: the ids, 500 a page. */
async function* yourQuery(): AsyncGenerator<string> {
  const ids: ReadonlyArray<string> = JSON.parse(await readFile(idsJson, "utf8"))
  for (let page = 0; page < ids.length; page += 500) yield* ids.slice(page, page + 500)
}

const ids = Stream.fromAsyncIterable(yourQuery(), (e) => new Error(`the query failed: ${e}`)).pipe(
  Stream.mapEffect((id) => ObjectId.decode(id))
)

const program = Export.run({
  pair: { fromType: ObjectType.unsafeMake("contacts"), toType: ObjectType.unsafeMake("companies") },
  source: IdSource.fromStream(ids, { description: `the contacts of ${idsJson}` }),
  stage: BatchRead.stage(),
  sink: Dataset.sink({ directory: out, encoder: ParquetEncoder.make() })
}).pipe(
  Effect.tap((summary) =>
    summary.status === "stopped"
      ? Effect.log("stopped")
      : Effect.log(`${summary.result.totals.rows} rows in ${summary.result.totals.parts} parts under ${out}`)
  )
)

const client = HubSpotClient.layerConfig().pipe(Layer.provide([RequestBudget.layer(), NodeHttpClient.layerUndici]))
NodeRuntime.runMain(program.pipe(Effect.provide(Layer.merge(client, NodeContext.layer))))
