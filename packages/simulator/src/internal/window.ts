/** A log of arrival times counted in a rolling window: `count(now)` is the arrivals in (now - windowMillis, now]. */
export interface RollingWindow {
  readonly windowMillis: number
  readonly add: (now: number, n: number) => void
  /** Takes back the last arrival (a refused request when refusals do not count). */
  readonly removeLast: () => void
  readonly count: (now: number) => number
  /** The time the oldest arrival still in the window leaves it. */
  readonly nextRelease: (now: number) => number
  readonly clear: () => void
}

export const make = (windowMillis: number): RollingWindow => {
  let log: Array<number> = []
  let head = 0
  const prune = (now: number) => {
    const cutoff = now - windowMillis
    while (head < log.length && log[head]! <= cutoff) head++
    if (head > 1024 && head * 2 > log.length) {
      log = log.slice(head)
      head = 0
    }
  }
  return {
    windowMillis,
    add: (now, n) => {
      prune(now)
      for (let i = 0; i < n; i++) log.push(now)
    },
    removeLast: () => {
      if (log.length > head) log.pop()
    },
    count: (now) => {
      prune(now)
      return log.length - head
    },
    nextRelease: (now) => {
      prune(now)
      return head < log.length ? log[head]! + windowMillis : now
    },
    clear: () => {
      log = []
      head = 0
    }
  }
}
