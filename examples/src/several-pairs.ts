/**
 * Several object pairs exported in one process, concurrently, each resumable, sharing one request budget:
 * the app's rate limit holds for all of them together. Each `--from` type is listed through the API.
 *
 *   HUBSPOT_ACCESS_TOKEN=... node examples/dist/several-pairs.js ./out
 */
import { Dataset, Export, ObjectType } from "@assoc-etl/core"
import { BatchRead, HubSpotClient, HubSpotIdSource, RequestBudget } from "@assoc-etl/hubspot"
import { ParquetEncoder } from "@assoc-etl/sink-parquet"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Layer } from "effect"
import * as path from "node:path"

const out = process.argv[2] ?? "out"
const pairs = [["contacts", "companies"], ["deals", "companies"], ["tickets", "contacts"]] as const

const exportPair = (from: ObjectType.ObjectType, to: ObjectType.ObjectType) => {
  const directory = path.join(out, `${from}-${to}`)
  return Export.run({
    pair: { fromType: from, toType: to },
    // The listed ids are kept beside the dataset, so a resume numbers them as the first run did.
    source: HubSpotIdSource.list(from, { journal: path.join(directory, Dataset.idJournalName) }),
    stage: BatchRead.stage(),
    sink: Dataset.sink({ directory, encoder: ParquetEncoder.make() })
  }).pipe(Effect.tap((summary) => Console.log(`${from} → ${to}: ${summary.rows} rows (${summary.status})`)))
}

const program = Effect.forEach(
  pairs,
  ([from, to]) => exportPair(ObjectType.unsafeMake(from), ObjectType.unsafeMake(to)),
  { concurrency: "unbounded", discard: true }
)

// One RequestBudget layer, so one sliding window, for every request of the three exports.
const client = HubSpotClient.layerConfig().pipe(
  Layer.provide([RequestBudget.layer({ limit: RequestBudget.defaultLimit }), NodeHttpClient.layerUndici])
)
NodeRuntime.runMain(program.pipe(Effect.provide(Layer.merge(client, NodeContext.layer))))
