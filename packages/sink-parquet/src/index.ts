export * as ParquetEncoder from "./ParquetEncoder.js"
export * as ParquetReader from "./ParquetReader.js"
