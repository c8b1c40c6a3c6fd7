/**
 * `--help` of each command of the built CLI, as a user reads it: every flag that @effect/cli parses (read from
 * its own completion script, so a flag the help forgets fails here) once, with its own sentence and its default,
 * in sections, examples at the end, and none of @effect/cli's generic lines.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { cli } from "./support.js"

/** What @effect/cli's own help says of any flag of a kind, before or after what the flag does. */
const generic = [
  "A user-defined piece of text.",
  "A true or false value.",
  "An integer.",
  "A floating point number.",
  "A directory.",
  "This setting is optional.",
  "One of the following:",
  "This option can be set from environment variables."
]

/** The flags that only act (print and exit, prompt): no default to state. */
const actions = new Set(["-h", "--help", "--version", "--completions", "--wizard"])

interface Page {
  /** The command after `assoc-etl`, or none for the root. */
  readonly command: ReadonlyArray<string>
  readonly sections: ReadonlyArray<string>
  /** Flags with what their entry must end with (`default: X` or `required`, inside its facts). */
  readonly defaults: Record<string, string>
}

const pages: ReadonlyArray<Page> = [
  {
    command: [],
    sections: ["Commands", "Logging", "General", "Examples"],
    defaults: { "--log-level": "default: info" }
  },
  {
    command: ["export"],
    sections: ["What to export", "Input", "Output", "HubSpot", "Limits", "Logging", "General", "Exit status", "Examples"],
    defaults: {
      "--from": "required unless --pairs or --job",
      "--to": "required unless --pairs or --job",
      "--pairs": "default: --from and --to",
      "--job": "default: none",
      "--ids": "default: every --from object, listed through the API",
      "--since": "default: none (a full export)",
      "--ids-from": "default: every --from object, listed",
      "--skip-bad-lines": "default: off",
      "--out": "required unless in --job",
      "--diff-against": "default: none",
      "--format": "default: ndjson",
      "--gzip": "default: off",
      "--compression": "default: snappy",
      "--part-rows": "default: 1000000",
      "--base-url": "default: https://api.hubapi.com",
      "--api-version": "default: 2026-03",
      "--batch-size": "default: 1000",
      "--concurrency": "default: 6",
      "--memory": "default: 80MiB",
      "--rate-limit": "default: 100/10s",
      "--max-retries": "default: 8",
      "--log-format": "default: logfmt",
      "--log-level": "default: info"
    }
  },
  {
    command: ["diff"],
    sections: ["Arguments", "Output", "Limits", "Logging", "General", "Exit status", "Examples"],
    defaults: {
      "--out": "required",
      "--part-rows": "default: 1000000",
      "--memory": "default: 256MiB",
      "--log-level": "default: info"
    }
  },
  {
    command: ["fleet"],
    sections: ["Commands", "Logging", "General", "Examples"],
    defaults: { "--log-level": "default: info" }
  },
  {
    command: ["fleet", "worker"],
    sections: ["Fleet", "Failover", "Logging", "General", "Exit status", "Examples"],
    defaults: {
      "--database": "required",
      "--host": "default: 127.0.0.1",
      "--port": "default: 34431",
      "--lock-expiration": "default: 9s",
      "--lock-refresh": "default: 3s",
      "--assignments-refresh": "default: 1s",
      "--health-check": "default: 2s",
      "--message-poll": "default: 1s",
      "--termination-timeout": "default: 3s",
      "--log-format": "default: logfmt",
      "--log-level": "default: info"
    }
  },
  {
    command: ["fleet", "submit"],
    sections: ["Arguments", "Fleet", "Logging", "General", "Exit status", "Examples"],
    defaults: { "--database": "required", "--wait": "default: off", "--log-level": "default: info" }
  },
  {
    command: ["fleet", "status"],
    sections: ["Arguments", "Fleet", "Logging", "General", "Exit status", "Examples"],
    defaults: {
      "--database": "required",
      "--limit": "default: 20",
      "--format": "default: text",
      "--log-level": "default: info"
    }
  },
  {
    command: ["simulate"],
    sections: ["Portal", "Server", "Logging", "General", "Examples"],
    defaults: {
      "--objects": "default: 20000",
      "--shape": "default: typical",
      "--seed": "default: 1",
      "--port": "default: 0",
      "--rate-limit": "default: 100",
      "--latency": "default: 0",
      "--faults": "default: no faults",
      "--log-level": "default: info"
    }
  },
  {
    command: ["demo"],
    sections: ["Demo", "Logging", "General", "Examples"],
    defaults: {
      "--out": "default: demo-out",
      "--objects": "default: 20000",
      "--seed": "default: 7",
      "--log-level": "default: info"
    }
  }
]

/**
 * The flags @effect/cli parses for `command` (the root's when none), from its fish completion script: a command
 * with commands of its own (`fleet`) is seen and none of its commands is (`...; and not ...`).
 */
const flagsOf = (fish: string, command: ReadonlyArray<string>): ReadonlyArray<string> => {
  const condition = command.length === 0
    ? "__fish_use_subcommand"
    : command.map((c) => `__fish_seen_subcommand_from ${c}`).join("; and ")
  const matches = (l: string) =>
    l.includes(`-n "${condition}"`) || (command.length === 1 && l.includes(`-n "${condition}; and not `))
  return fish.split("\n").filter(matches).flatMap((l) => [
    ...Array.from(l.matchAll(/ -s (\S+)/g), (m) => `-${m[1]}`),
    ...Array.from(l.matchAll(/ -l (\S+)/g), (m) => `--${m[1]}`)
  ])
}

interface Entry {
  readonly section: string
  /** The flags its term names: `-h, --help` names two; an exit status or a command none. */
  readonly flags: ReadonlyArray<string>
  /** Its lines joined: the sentence, then the facts in brackets. */
  readonly text: string
}

/** The help's sections, in order, and its entries: a line `  TERM  text` and the lines indented under it. */
const read = (help: string) => {
  const sections: Array<string> = []
  const entries: Array<Entry> = []
  for (const line of help.split("\n")) {
    const header = /^([A-Z][A-Za-z ]*):$/.exec(line)
    const entry = /^ {2}(\S.*?)(?: {2,}(\S.*))?$/.exec(line)
    const more = /^ {5,}(\S.*)$/.exec(line)
    const last = entries.at(-1)
    if (header !== null) sections.push(header[1]!)
    else if (entry !== null) {
      const flags = entry[1]!.split(", ").map((t) => t.split(" ")[0]!).filter((t) => t.startsWith("-"))
      entries.push({ section: sections.at(-1) ?? "", flags, text: entry[2] ?? "" })
    } else if (more !== null && last !== undefined && sections.at(-1) !== "Examples") {
      entries[entries.length - 1] = { ...last, text: `${last.text} ${more[1]}`.trim() }
    }
  }
  return { sections, entries }
}

describe("assoc-etl --help", () => {
  it.live("names every flag once, with its own sentence and its default, in sections, examples last", () =>
    Effect.gen(function*() {
      const fish = yield* cli(["--completions", "fish"])
      assert.strictEqual(fish.code, 0, fish.stderr)
      for (const page of pages) {
        const name = ["assoc-etl", ...page.command].join(" ")
        const ran = yield* cli([...page.command, "--help"])
        assert.strictEqual(ran.code, 0, ran.stderr)
        const help = ran.stdout
        assert.isTrue(help.startsWith(`Usage: ${name} `), help)
        for (const line of generic) assert.notInclude(help, line, name)
        const { entries, sections } = read(help)
        assert.deepStrictEqual(sections, page.sections, name)

        const parsed = flagsOf(fish.stdout, page.command)
        assert.isAbove(parsed.length, 4, name)
        for (const flag of parsed) {
          const found = entries.filter((e) => e.flags.includes(flag))
          assert.strictEqual(found.length, 1, `${name}: ${flag} in ${JSON.stringify(found)}`)
          const entry = found[0]!
          const facts = /^(.+?)\s*(?:\[([^\]]*)\])?$/.exec(entry.text)
          assert.isTrue(facts !== null && facts[1]!.length > 10, `${name}: ${flag} says what it does: ${entry.text}`)
          if (actions.has(flag)) continue
          const expected = page.defaults[flag] ?? "(its default, in the test)"
          assert.include((facts?.[2] ?? "").split("; "), expected, `${name}: ${flag}: ${entry.text}`)
        }
        for (const flag of Object.keys(page.defaults)) assert.include(parsed, flag, `${name}: ${flag} is parsed`)

        // Lines fit 100 columns when stdout is not a terminal; an example's command line is printed whole.
        const beforeExamples = help.slice(0, help.indexOf("\nExamples:\n"))
        for (const line of beforeExamples.split("\n")) assert.isAtMost(line.length, 100, line)
        assert.match(help, /\nExamples:\n {2}\S.*\n {4}\S/)
      }
    }))

  it.live("-h is --help, anywhere among the flags; the command alone shows the root's", () =>
    Effect.gen(function*() {
      const long = yield* cli(["export", "--help"])
      const anywhere = [
        ["export", "-h"],
        ["export", "--from", "contacts", "--help"],
        ["--help", "export", "--out", "x"]
      ]
      for (const args of anywhere) {
        const ran = yield* cli(args)
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.strictEqual(ran.stdout, long.stdout, args.join(" "))
      }
      const root = yield* cli([])
      assert.strictEqual(root.code, 0)
      assert.strictEqual(root.stdout, (yield* cli(["--help"])).stdout)
      for (const command of ["export", "simulate", "demo"]) {
        assert.match(root.stdout, new RegExp(`\\n {2}${command} +\\S`))
      }
    }))
})
