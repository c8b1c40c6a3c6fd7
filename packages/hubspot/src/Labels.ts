/**
 * A pair's labels catalogue as a table for its dataset (`_labels/labels.ndjson|.parquet`, DESIGN.md "Output"):
 * every association type HubSpot defines from one object type to another, those no row uses yet too, so a
 * reader can name a `association_type_id` it has not met and see the labels a portal offers.
 */
import type { AssociationRow, PartEncoder } from "@assoc-etl/core"
import { Effect } from "effect"
import type * as Api from "./AssociationsApi.js"
import { HubSpotClient } from "./HubSpotClient.js"
import type { HubSpotError } from "./HubSpotError.js"

/** The catalogue's columns: named as the rows' (`association_category` ...), less the `association_` prefix. */
export const columns: ReadonlyArray<PartEncoder.TableColumn> = [
  { name: "category", type: "string", nullable: false },
  { name: "type_id", type: "int32", nullable: false },
  { name: "label", type: "string", nullable: true }
]

/** The labels as a table, in HubSpot's order. */
export const toTable = (labels: ReadonlyArray<Api.AssociationLabel>): PartEncoder.Table => ({
  columns,
  rows: labels.map((l) => [l.category, l.typeId, l.label])
})

/** The labels catalogue of `pair`, asked of HubSpot (one request), as a table. */
export const catalogue = (
  pair: AssociationRow.Pair
): Effect.Effect<PartEncoder.Table, HubSpotError, HubSpotClient> =>
  Effect.flatMap(HubSpotClient, (client) => Effect.map(client.labels(pair.fromType, pair.toType), toTable))
