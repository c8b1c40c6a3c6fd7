/**
 * The failures of a diff, each naming the argument it is about (`OLD`, `NEW`
 * or `--out`) and its path. Every reason but `Io` is the caller's input: the
 * command line exits 2 for them (`isBadInput`), having written nothing.
 */
import { Schema } from "effect"

export const Argument = Schema.Literal("OLD", "NEW", "--out")
export type Argument = typeof Argument.Type

export class DiffError extends Schema.TaggedError<DiffError>()("DiffError", {
  /**
   * - `Missing`: OLD or NEW does not exist, or is not a directory.
   * - `NotAnExport`: OLD or NEW holds no export of assoc-etl (no manifest.json, or another tool's).
   * - `NotFinished`: OLD or NEW holds an export that has not finished (no `_SUCCESS`).
   * - `Corrupt`: the export's manifest cannot be read, or a part it lists is missing.
   * - `PairMismatch`: OLD and NEW are exports of different object pairs.
   * - `OutNotUsable`: `--out` is a file, holds files that are not a diff, or the finished diff of other exports.
   *   Nothing was written to it.
   * - `Io`: reading the parts or writing the changes failed (a full disk, say); a rerun starts the diff over.
   */
  reason: Schema.Literal("Missing", "NotAnExport", "NotFinished", "Corrupt", "PairMismatch", "OutNotUsable", "Io"),
  argument: Argument,
  path: Schema.String,
  detail: Schema.String
}) {
  /** The message without the argument's name: what the command line says after `OLD: `. */
  get explanation(): string {
    switch (this.reason) {
      case "Missing":
        return `${this.path}: ${this.detail}`
      case "NotAnExport":
        return `${this.path} is not an export of assoc-etl: ${this.detail}`
      case "NotFinished":
        return `${this.path} is not a finished export: ${this.detail}`
      case "Corrupt":
        return `${this.path}: ${this.detail}`
      case "PairMismatch":
        return this.detail
      case "OutNotUsable":
        return `${this.path} ${this.detail}. Nothing was written to it`
      case "Io":
        return `${this.path}: ${this.detail}`
    }
  }

  override get message(): string {
    return `${this.argument} ${this.explanation}`
  }
}

/** Whether the diff was refused for its arguments (nothing written), rather than failing while it ran. */
export const isBadInput = (error: DiffError): boolean => error.reason !== "Io"
