export * as ChangeRow from "./ChangeRow.js"
export * as ChangesManifest from "./ChangesManifest.js"
export * as Diff from "./Diff.js"
export * as DiffError from "./DiffError.js"
