/**
 * An export composed from the library in an Effect program: ids from a file,
 * the batch-read stage, and the dataset writer with the NDJSON encoder.
 *
 *   HUBSPOT_ACCESS_TOKEN=... node examples/dist/library-export.js ids.txt ./out/contacts-companies
 */
import { Dataset, IdSource, ObjectType } from "@assoc-etl/core"
import { BatchRead, HubSpotClient, RequestBudget } from "@assoc-etl/hubspot"
import { NdjsonEncoder } from "@assoc-etl/sink-ndjson"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Layer, Stream } from "effect"

const [idFile = "ids.txt", out = "out/contacts-companies"] = process.argv.slice(2)

const program = Effect.scoped(Effect.gen(function*() {
  const { writer } = yield* Dataset.open({ directory: out, encoder: NdjsonEncoder.make() })
  const ids = IdSource.readFile(idFile).pipe(Stream.map((line) => line.id))
  yield* BatchRead.fromIds({ from: ObjectType.unsafeMake("contacts"), to: ObjectType.unsafeMake("companies") })(ids).pipe(
    Stream.runForEach((page) => writer.append(page.rows, page.errors))
  )
  const manifest = yield* writer.finish({}, {})
  yield* Console.log(`${manifest.totals.rows} rows in ${manifest.totals.parts} parts under ${out}`)
}))

const services = HubSpotClient.layerConfig().pipe(
  Layer.provide(RequestBudget.layer({ limit: RequestBudget.defaultLimit })),
  Layer.provide(NodeHttpClient.layerUndici),
  Layer.merge(NodeContext.layer)
)

NodeRuntime.runMain(program.pipe(Effect.provide(services)))
