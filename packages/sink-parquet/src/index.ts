export * as ParquetEncoder from "./ParquetEncoder.js"
