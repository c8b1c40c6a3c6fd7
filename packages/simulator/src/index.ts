export * as Dataset from "./Dataset.js"
export * as Simulator from "./Simulator.js"
