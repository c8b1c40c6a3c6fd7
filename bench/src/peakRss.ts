/**
 * A child process's peak RSS, as Linux counts it (`VmHWM` in /proc/PID/status, KiB), polled every 20 ms until
 * it exits: what the benches report as a tool's peak memory.
 */
import * as fs from "node:fs"

export const watch = (pid: number | undefined): { readonly peakKiB: () => number; readonly stop: () => void } => {
  let peak = 0
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))
      if (m) peak = Math.max(peak, Number(m[1]))
    } catch { /* exited */ }
  }, 20)
  return { peakKiB: () => peak, stop: () => clearInterval(poll) }
}
