/**
 * One row of a changes dataset: an association row (the seven columns of
 * `AssociationRow`, same names, order and types) and `op` last. A row in NEW
 * and not in OLD is an `insert`, one in OLD and not in NEW a `delete`, counted
 * as multisets; a changed label is a delete of the old row and an insert of
 * the new one, since the label is part of the row.
 */
import { AssociationRow } from "@assoc-etl/core"
import { Schema } from "effect"

export const Op = Schema.Literal("insert", "delete")
export type Op = typeof Op.Type

export const ChangeRow = Schema.Struct({ ...AssociationRow.AssociationRow.fields, op: Op })
export type ChangeRow = typeof ChangeRow.Type

/** The output columns in order: `AssociationRow.columns`, then `op`. */
export const columns = [
  ...AssociationRow.columns,
  { name: "op", type: "string", nullable: false }
] as const satisfies ReadonlyArray<{ name: keyof ChangeRow; type: "string" | "int32"; nullable: boolean }>
