import { assert, describe, it } from "@effect/vitest"
import * as Since from "../src/Since.js"

describe("Since", () => {
  it("parseIso reads a date, or a date-time without a zone, as UTC whatever the machine's zone", () => {
    // Node reads TZ again when it changes: a zone away from UTC, so that a local reading would show.
    const zone = process.env["TZ"]
    process.env["TZ"] = "America/New_York"
    try {
      assert.notStrictEqual(new Date(Date.parse("2025-06-30T08:15")).toISOString(), "2025-06-30T08:15:00.000Z")
      checkParseIso()
    } finally {
      if (zone === undefined) delete process.env["TZ"]
      else process.env["TZ"] = zone
    }
  })

  const checkParseIso = () => {
    assert.strictEqual(Since.parseIso("2025-06-30"), "2025-06-30T00:00:00.000Z")
    assert.strictEqual(Since.parseIso("2025-06-30T08:15"), "2025-06-30T08:15:00.000Z")
    assert.strictEqual(Since.parseIso("2025-06-30 08:15:30.5"), "2025-06-30T08:15:30.500Z")
    assert.strictEqual(Since.parseIso("2025-06-30T08:15:00+02:00"), "2025-06-30T06:15:00.000Z")
    assert.strictEqual(Since.parseIso(" 2025-06-30T08:15:00Z "), "2025-06-30T08:15:00.000Z")
    assert.isUndefined(Since.parseIso("yesterday"))
    assert.isUndefined(Since.parseIso("2025-13-40"))
  }

  it("fromManifest takes a search run's window end, or another run's start", () => {
    assert.strictEqual(
      Since.fromManifest({ startedAt: "2025-01-02T00:00:00Z", export: { input: { kind: "search", until: "2025-01-01T23:55:00Z" } } }),
      "2025-01-01T23:55:00.000Z"
    )
    assert.strictEqual(Since.fromManifest({ startedAt: "2025-01-02T00:00:00Z", export: { input: { kind: "list" } } }), "2025-01-02T00:00:00.000Z")
    assert.isUndefined(Since.fromManifest({ export: { input: { kind: "search" } } }))
    assert.isUndefined(Since.fromManifest(null))
  })
})
