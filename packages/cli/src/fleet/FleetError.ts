/** What ends a fleet command that is not a refusal of its arguments (those are `InvalidArgument`, exit 2). */
import { Schema } from "effect"

export class FleetError extends Schema.TaggedError<FleetError>()("FleetError", {
  /**
   * `Database`: PostgreSQL could not be reached or refused a statement (exit 1: run again when it is back);
   * `JobFailed`: a job ended with a portal failed (exit 1; `fleet status` says why);
   * `TokenMissing`: a portal's token variable is not set on the worker that runs it (that portal fails, named in
   * `fleet status`; the job's other portals go on).
   */
  reason: Schema.Literal("Database", "JobFailed", "TokenMissing"),
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}
