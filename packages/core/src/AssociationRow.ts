/**
 * One output row: one (from, to, association type). The field names are the
 * output columns, in DESIGN.md's order, the same for NDJSON and Parquet.
 */
import { Schema } from "effect"
import type { ObjectType } from "./ObjectType.js"

export const Int32 = Schema.Int.pipe(Schema.between(-2147483648, 2147483647))

export const AssociationRow = Schema.Struct({
  from_object_type: Schema.String,
  from_object_id: Schema.String,
  to_object_type: Schema.String,
  to_object_id: Schema.String,
  association_category: Schema.String,
  association_type_id: Int32,
  association_label: Schema.NullOr(Schema.String)
})
export type AssociationRow = typeof AssociationRow.Type

/** The output columns in order, with their types: the one source of the schema of every part. */
export const columns = [
  { name: "from_object_type", type: "string", nullable: false },
  { name: "from_object_id", type: "string", nullable: false },
  { name: "to_object_type", type: "string", nullable: false },
  { name: "to_object_id", type: "string", nullable: false },
  { name: "association_category", type: "string", nullable: false },
  { name: "association_type_id", type: "int32", nullable: false },
  { name: "association_label", type: "string", nullable: true }
] as const satisfies ReadonlyArray<{ name: keyof AssociationRow; type: "string" | "int32"; nullable: boolean }>

export type Column = (typeof columns)[number]

/** The object types an export reads associations between. */
export interface Pair {
  readonly fromType: ObjectType
  readonly toType: ObjectType
}

/** What kind of association a row is: the last three columns. */
export interface AssociationType {
  readonly category: string
  readonly typeId: number
  /** `null` when the association has no label. */
  readonly label: string | null
}
