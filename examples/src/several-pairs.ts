/**
 * Several object pairs exported in one process, concurrently, sharing one
 * request budget: the app's rate limit holds for all of them together.
 *
 *   HUBSPOT_ACCESS_TOKEN=... node examples/dist/several-pairs.js ./out
 */
import { Dataset, ObjectType } from "@assoc-etl/core"
import { BatchRead, HubSpotClient, RequestBudget } from "@assoc-etl/hubspot"
import { ParquetEncoder } from "@assoc-etl/sink-parquet"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Chunk, Console, Effect, Layer, Option, Stream } from "effect"

const out = process.argv[2] ?? "out"
const pairs = [["contacts", "companies"], ["deals", "companies"], ["tickets", "contacts"]] as const

/** Every object of `from`, listed through the API, a page of 100 at a time. */
const listAll = (from: ObjectType.ObjectType) =>
  Stream.unwrap(Effect.map(HubSpotClient.HubSpotClient, (client) =>
    Stream.paginateChunkEffect(undefined as string | undefined, (after) =>
      client.listObjects(from, { limit: 100, ...(after === undefined ? {} : { after }) }).pipe(
        Effect.map((page) =>
          [Chunk.fromIterable(page.results.map((r) => r.id)), Option.fromNullable(page.paging?.next?.after)] as const
        )
      ))))

const exportPair = (from: ObjectType.ObjectType, to: ObjectType.ObjectType) =>
  Effect.scoped(Effect.gen(function*() {
    const { writer } = yield* Dataset.open({ directory: `${out}/${from}-${to}`, encoder: ParquetEncoder.make() })
    yield* BatchRead.fromIds({ from, to })(listAll(from)).pipe(
      Stream.runForEach((page) => writer.append(page.rows, page.errors))
    )
    const manifest = yield* writer.finish({}, {})
    yield* Console.log(`${from} → ${to}: ${manifest.totals.rows} rows`)
  }))

const program = Effect.forEach(
  pairs,
  ([from, to]) => exportPair(ObjectType.unsafeMake(from), ObjectType.unsafeMake(to)),
  { concurrency: "unbounded", discard: true }
)

// One RequestBudget layer, so one sliding window, for every request of the three exports.
const services = HubSpotClient.layerConfig().pipe(
  Layer.provide(RequestBudget.layer({ limit: RequestBudget.defaultLimit })),
  Layer.provide(NodeHttpClient.layerUndici),
  Layer.merge(NodeContext.layer)
)

NodeRuntime.runMain(program.pipe(Effect.provide(services)))
