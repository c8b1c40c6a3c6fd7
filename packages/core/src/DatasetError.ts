/**
 * The failures of a dataset directory: what the user is told, and whether
 * a rerun can go on (see each reason).
 */
import { Schema } from "effect"

export class DatasetError extends Schema.TaggedError<DatasetError>()("DatasetError", {
  /**
   * - `Io`, `NoSpace`: a file operation failed; what was committed is safe, a rerun resumes.
   * - `Corrupt`: the directory is not what its checkpoint says; a rerun cannot repair it.
   * - `NotEmpty`: the directory holds files but no export's checkpoint: another tool's, or an export's whose
   *   checkpoint is gone. Nothing was written to it.
   * - `Mismatch`: the directory holds an export in another format.
   * - `NotFinished`: a finished export was expected (its manifest is read) and the directory holds none.
   * - `Finished`: the export is finished (`_SUCCESS`); nothing may be added to it.
   */
  reason: Schema.Literal("Io", "NoSpace", "Corrupt", "NotEmpty", "Mismatch", "NotFinished", "Finished"),
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    switch (this.reason) {
      case "NoSpace":
        return `no space left on the device while writing ${this.path}. What was committed is safe: free some space `
          + "and run the same command again to resume."
      case "NotEmpty":
        return `${this.path} is not empty and holds no export to resume (found ${this.detail}). Nothing was written `
          + "to it: choose an empty directory or a new one."
      case "Mismatch":
        return `${this.path} holds another export: ${this.detail}. Its files were left as they are; choose another `
          + "directory."
      case "NotFinished":
        return `${this.path} is not a finished export: ${this.detail}`
      case "Finished":
        return `${this.path} holds a finished export (_SUCCESS): nothing may be added to it`
      case "Corrupt":
        return `${this.path}: ${this.detail}`
      case "Io":
        return `cannot write ${this.path}: ${this.detail}`
    }
  }
}
