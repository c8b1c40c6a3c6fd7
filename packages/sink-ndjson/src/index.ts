export * as NdjsonEncoder from "./NdjsonEncoder.js"
