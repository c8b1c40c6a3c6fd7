export * as SimulatedPortal from "./SimulatedPortal.js"
export * as Simulator from "./Simulator.js"
