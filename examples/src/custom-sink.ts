/**
 * Rows into a function of your own instead of files, without resume: the batch-read stage is a plain
 * `Stream` of pages. Here, a count of associations per label.
 *
 *   HUBSPOT_ACCESS_TOKEN=... node examples/dist/custom-sink.js 101 102 103
 */
import { ObjectId, ObjectType } from "@assoc-etl/core"
import { BatchRead, HubSpotClient, RequestBudget } from "@assoc-etl/hubspot"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Layer, Stream } from "effect"

const ids = Stream.fromIterable(process.argv.slice(2)).pipe(Stream.mapEffect((s) => ObjectId.decode(s)))

const program = BatchRead.fromIds({ from: ObjectType.unsafeMake("deals"), to: ObjectType.unsafeMake("companies") })(ids).pipe(
  // Each page's rows: a batch that iterates as row objects.
  Stream.runFold(new Map<string, number>(), (byLabel, page) => {
    for (const row of page.rows) {
      const label = row.association_label ?? "(no label)"
      byLabel.set(label, (byLabel.get(label) ?? 0) + 1)
    }
    return byLabel
  }),
  Effect.flatMap((byLabel) => Console.table(Object.fromEntries(byLabel)))
)

const client = HubSpotClient.layerConfig().pipe(Layer.provide([RequestBudget.layer(), NodeHttpClient.layerUndici]))
NodeRuntime.runMain(program.pipe(Effect.provide(client)))
