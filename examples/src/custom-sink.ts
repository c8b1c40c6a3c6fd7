/**
 * Rows into a function of your own instead of files: here, a count of
 * associations per label, a chunk of rows at a time.
 *
 *   HUBSPOT_ACCESS_TOKEN=... node examples/dist/custom-sink.js 101 102 103
 */
import { type AssociationRow, ObjectId, ObjectType } from "@assoc-etl/core"
import { BatchRead, HubSpotClient, RequestBudget } from "@assoc-etl/hubspot"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Layer, Stream } from "effect"

const byLabel = new Map<string, number>()

/** The user's sink: any function of a chunk of rows. */
const countLabels = (rows: ReadonlyArray<AssociationRow.AssociationRow>) =>
  Effect.sync(() => {
    for (const row of rows) {
      const label = row.association_label ?? "(no label)"
      byLabel.set(label, (byLabel.get(label) ?? 0) + 1)
    }
  })

const ids = Stream.fromIterable(process.argv.slice(2)).pipe(Stream.mapEffect((s) => ObjectId.decode(s)))

const program = BatchRead.fromIds({ from: ObjectType.unsafeMake("deals"), to: ObjectType.unsafeMake("companies") })(ids).pipe(
  Stream.runForEach((page) => countLabels(page.rows.toArray())),
  Effect.zipRight(Effect.suspend(() => Console.table(Object.fromEntries(byLabel))))
)

NodeRuntime.runMain(program.pipe(
  Effect.provide(HubSpotClient.layerConfig().pipe(
    Layer.provide(RequestBudget.layer()),
    Layer.provide(NodeHttpClient.layerUndici)
  ))
))
