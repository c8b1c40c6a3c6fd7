/** The command line's own outcomes that are not the library's errors. */
import { Data, Schema } from "effect"

/** A flag's value is wrong: nothing was sent (exit 2). */
export class InvalidArgument extends Schema.TaggedError<InvalidArgument>()("InvalidArgument", {
  flag: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.flag}: ${this.detail}`
  }
}

/** Not an error: the export finished, but the API refused some inputs (exit 3). */
export class DoneWithRefusals extends Data.TaggedError("DoneWithRefusals")<{ readonly refused: number }> {}

/** Not an error: a signal stopped the export after it committed what it had (exit 130 or 143; a rerun resumes). */
export class Stopped extends Data.TaggedError("Stopped")<{ readonly signal: "SIGINT" | "SIGTERM" }> {
  override get message(): string {
    return `stopped by ${this.signal}: what was done is committed`
  }
}
