export * as Cli from "./Cli.js"
export * as ExitCode from "./ExitCode.js"
export * as Export from "./Export.js"
export * as Report from "./Report.js"
