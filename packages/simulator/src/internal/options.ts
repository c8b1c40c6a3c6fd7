import type { PortalShape } from "../SimulatedPortal.js"

/**
 * The shapes of options that the simulator's machinery reads. `Simulator.ts` re-exports them: they are public,
 * and they live here so that no internal module imports `Simulator.ts`.
 */

export interface Faults {
  readonly status500?: number
  readonly status502?: number
  readonly status503?: number
  readonly status504?: number
  readonly drop?: number
  readonly truncate?: number
  readonly slow?: { readonly probability: number; readonly millis: number }
}

/** The statuses of a batch-read answer that is not complete (the reference lists them, with `COMPLETE`). */
export type IncompleteStatus = "PENDING" | "PROCESSING" | "CANCELED"

export const incompleteStatuses: ReadonlyArray<IncompleteStatus> = ["PENDING", "PROCESSING", "CANCELED"]

/**
 * Batch-read answers that are not complete: with `probability` (0..1, seeded), an answer has one of `statuses`
 * (drawn evenly; default, or empty: all three) and `results` cut to those of a prefix of its inputs.
 */
export interface Incomplete {
  readonly probability: number
  readonly statuses?: ReadonlyArray<IncompleteStatus>
}

export interface RateLimit {
  readonly max: number
  readonly windowMillis: number
  readonly daily?: number
}

export interface ResolvedOptions {
  readonly seed: number
  readonly objects: number
  readonly types: ReadonlyArray<string>
  readonly pageSize: number
  readonly maxInputs: number
  readonly token: string
  readonly scopes: ReadonlyArray<string>
  readonly rateLimit: { readonly max: number; readonly windowMillis: number; readonly daily: number }
  readonly searchRateLimit: { readonly max: number; readonly windowMillis: number }
  readonly latencyMillis: readonly [min: number, max: number]
  readonly faults: Faults
  readonly incomplete: Incomplete
  readonly retryAfter: number
  readonly numericToObjectId: boolean
  readonly workCategory: boolean
  readonly objectTypeIds: boolean
  readonly port: number
  readonly countRejected: boolean
  readonly noAssociationsFound: boolean
  readonly portalId: number
  readonly shape: PortalShape
}
