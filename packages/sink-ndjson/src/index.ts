export * as GzipMember from "./GzipMember.js"
export * as NdjsonEncoder from "./NdjsonEncoder.js"
