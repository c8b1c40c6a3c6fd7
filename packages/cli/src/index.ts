export * as Cli from "./Cli.js"
export * as CliError from "./CliError.js"
export * as ExitCode from "./ExitCode.js"
export * as Report from "./Report.js"
