/** Test wiring: a simulator, and a HubSpot client against it over real HTTP on 127.0.0.1. */
import { AssociationRow } from "@assoc-etl/core"
import { Dataset, Simulator } from "@assoc-etl/simulator"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Effect, Layer, Redacted } from "effect"
import { HubSpotClient, RequestBudget } from "../src/index.js"

export interface ClientOptions extends Omit<HubSpotClient.HubSpotClientOptions, "token" | "baseUrl"> {
  readonly token?: string
  readonly limit?: RequestBudget.Limit
  readonly margin?: number
}

/** The simulator and a client (with its own budget) pointed at it. */
export const layer = (
  simulator: Simulator.SimulatorOptions,
  client: ClientOptions = {}
): Layer.Layer<Simulator.Simulator | HubSpotClient.HubSpotClient | RequestBudget.RequestBudget> => {
  const { token, limit, margin, ...rest } = client
  const budget = RequestBudget.layer({
    limit: limit ?? { max: 1000, windowMillis: 1000 },
    ...(margin === undefined ? {} : { margin: `${margin} millis` })
  })
  const clientLayer = Layer.unwrapEffect(Effect.map(Simulator.Simulator, (sim) =>
    HubSpotClient.layer({
      token: Redacted.make(token ?? "sim-token"),
      baseUrl: sim.baseUrl,
      retryBase: "10 millis",
      retryCap: "500 millis",
      timeout: "10 seconds",
      ...rest
    }).pipe(Layer.orDie)))
  return clientLayer.pipe(
    Layer.provideMerge(budget),
    Layer.provideMerge(Simulator.layer(simulator)),
    Layer.provide(NodeHttpClient.layerUndici)
  )
}

/** Rows as sorted JSON lines: a multiset to compare. */
export const multiset = (rows: ReadonlyArray<AssociationRow.AssociationRow>): ReadonlyArray<string> =>
  rows.map((r) => AssociationRow.encodeNdjson([r])).sort()

export { Dataset }
