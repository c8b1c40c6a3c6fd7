/**
 * `assoc-etl fleet`: many portals' exports spread over many machines (fleet/), as three commands: `worker` (a
 * runner, until a signal), `submit JOB.json [--wait]` (a job to the fleet, idempotent by its id) and `status
 * [JOB_ID]`; their flags, each decoded where it enters, and their help pages. The fleet's modules (the cluster,
 * PostgreSQL's client) are loaded when a fleet command runs: the other commands start without them.
 */
import { Args, Command } from "@effect/cli"
import { Terminal } from "@effect/platform"
import { Console, Duration, Effect, ParseResult, Schema } from "effect"
import { defaultFailover, type Failover } from "./fleet/Failover.js"
import * as Flags from "./Flags.js"
import * as Report from "./Report.js"

export const summary = "Spread many portals' exports over many machines: workers, jobs, their status (PostgreSQL)."

const durationPattern = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)\s*$/

/** A duration as the flags spell it: `500ms`, `2s`, `1.5m`. */
export const DurationText = Schema.transformOrFail(Schema.String, Schema.DurationFromSelf, {
  strict: true,
  decode: (text, _, ast) => {
    const m = durationPattern.exec(text)
    const millis = m === null ? NaN : Number(m[1]) * (m[2] === "ms" ? 1 : m[2] === "s" ? 1000 : 60_000)
    return Number.isFinite(millis) && millis >= 1
      ? ParseResult.succeed(Duration.millis(Math.round(millis)))
      : ParseResult.fail(
        new ParseResult.Type(ast, text, `expected a duration such as 500ms, 2s or 1m, got ${JSON.stringify(text)}`)
      )
  },
  encode: (d) => ParseResult.succeed(`${Duration.toMillis(d)}ms`)
})

const seconds = (d: Duration.Duration) => `${Duration.toMillis(d) / 1000}s`

const logFormat = Flags.withDefault(
  Flags.choice("log-format", ["logfmt", "json"]),
  "logfmt" as const,
  "Format of the log lines on stderr: each portal's progress and end, the cluster's own."
)

/** The fleet's modules, loaded when a fleet command runs. */
const fleet = Effect.promise(() =>
  Promise.all([
    import("./fleet/Database.js"),
    import("./fleet/Runner.js"),
    import("./fleet/Submit.js"),
    import("./fleet/Status.js")
  ]).then(([Database, Runner, Submit, Status]) => ({ Database, Runner, Submit, Status }))
)

const database = Flags.required(
  Flags.withEnv(Flags.text("database", "URL"), "ASSOC_ETL_DATABASE_URL"),
  "PostgreSQL of the fleet, postgres://USER:PASSWORD@HOST:5432/DATABASE: every worker and every submit of one "
    + "fleet names the same. Its tables are made when missing: the cluster's (cluster_*: runners, shard locks, "
    + "messages, replies, the jobs' journals) and the status tables (assoc_etl_fleet_*). Prefer the variable: a "
    + "flag is seen by every user of the machine (ps)."
)

// fleet worker
const failoverFlag = (name: string, key: keyof Failover, text: string) =>
  Flags.withDefault(
    Flags.decoded(name, "DURATION", DurationText),
    defaultFailover[key],
    text,
    seconds(defaultFailover[key])
  )

const workerFlags = {
  host: Flags.withDefault(
    Flags.text("host", "HOST"),
    "127.0.0.1",
    "Address the other workers reach this one at (and it listens on): a name or IP of this machine that they can "
      + "connect to."
  ),
  port: Flags.withDefault(
    Flags.integer("port", 1, 65535),
    34431,
    "TCP port it listens on for the other workers. Two workers on one machine need two ports."
  ),
  database,
  lockRefresh: failoverFlag("lock-refresh", "lockRefresh", "How often the worker renews its shard locks."),
  lockExpiration: failoverFlag(
    "lock-expiration",
    "lockExpiration",
    "How long after a worker's last renewal its locks are free: a worker killed without a word (kill -9, a "
      + "machine lost) has its portals moved to the others this long after it died, plus up to --assignments-refresh."
  ),
  assignmentsRefresh: failoverFlag(
    "assignments-refresh",
    "assignmentsRefresh",
    "How often the worker looks for workers gone or added, and takes the shards that are free."
  ),
  healthCheck: failoverFlag("health-check", "healthCheck", "How often the worker checks that the others answer."),
  messagePoll: failoverFlag(
    "message-poll",
    "messagePoll",
    "How often the worker looks in PostgreSQL for messages to its portals sent while they were moving."
  ),
  terminationTimeout: failoverFlag(
    "termination-timeout",
    "terminationTimeout",
    "How long the worker lets a portal's export run on when the portal moves away from it (a worker joined, or this "
      + "one stops): then the export is interrupted, and goes on on the new owner from its checkpoint."
  ),
  logFormat
}

const workerPage: Flags.Page = {
  usage: "assoc-etl fleet worker --database URL [--host HOST] [--port N] [flags]",
  about: [
    "Run one worker of the fleet until Ctrl-C or SIGTERM: it registers in the fleet's PostgreSQL, takes its share of "
    + "the portals (each portal lives on one worker at a time), and runs their exports in this process, as `assoc-etl "
    + "export --job` would, each under its entry's rate limit. The token of each portal is read from this process's "
    + "environment, under the name its entry gives (tokenEnv): set every portal's variable on every worker. Start as "
    + "many workers as you like, on as many machines: a worker that joins takes a share of the portals, one that "
    + "stops (or dies) has its portals carried on by the others from their checkpoints, so every dataset's `out` "
    + "must be a directory all workers share, or a bucket."
  ],
  sections: [
    Flags.section("Fleet", [workerFlags.database, workerFlags.host, workerFlags.port]),
    Flags.section("Failover", [
      workerFlags.lockExpiration,
      workerFlags.lockRefresh,
      workerFlags.assignmentsRefresh,
      workerFlags.healthCheck,
      workerFlags.messagePoll,
      workerFlags.terminationTimeout
    ]),
    Flags.section("Logging", [workerFlags.logFormat, Flags.builtIn.logLevel]),
    Flags.general,
    {
      title: "Exit status",
      rows: [
        {
          term: "0",
          text: "Stopped by Ctrl-C (SIGINT) or SIGTERM: its exports interrupted (what they committed is kept), its "
            + "portals released to the other workers, its registration removed. A second signal stops at once."
        },
        { term: "1", text: "PostgreSQL could not be reached, or the port could not be listened on." },
        { term: "2", text: "A flag out of its range or not of its kind." }
      ]
    }
  ],
  examples: [
    {
      title: "Two workers on two machines, the portals' tokens in their environment:",
      lines: [
        "export ASSOC_ETL_DATABASE_URL=postgres://fleet:secret@db.internal:5432/fleet",
        "export ACME_HUBSPOT_TOKEN=pat-na1-... GLOBEX_HUBSPOT_TOKEN=pat-eu1-...",
        "assoc-etl fleet worker --host 10.0.0.11     # on the first machine",
        "assoc-etl fleet worker --host 10.0.0.12     # on the second"
      ]
    }
  ]
}

const worker = Command.make("worker", Flags.options(workerFlags), (flags) =>
  Effect.gen(function*() {
    const { Database, Runner } = yield* fleet
    yield* Runner.run({
      host: flags.host,
      port: flags.port,
      database: yield* Database.url(flags.database),
      failover: {
        lockRefresh: flags.lockRefresh,
        lockExpiration: flags.lockExpiration,
        assignmentsRefresh: flags.assignmentsRefresh,
        healthCheck: flags.healthCheck,
        messagePoll: flags.messagePoll,
        terminationTimeout: flags.terminationTimeout
      }
    }).pipe(Effect.provide(Report.logger(flags.logFormat)))
  })).pipe(Command.withDescription("Run a worker of the fleet until Ctrl-C or SIGTERM."))

// fleet submit
const jobArg = Args.text({ name: "JOB.json" }).pipe(Args.withDescription("The job file."))

const submitFlags = {
  database,
  wait: Flags.toggle(
    "wait",
    "Follow the job to its end (a line on stderr now and then), print its status, and exit with its status."
  )
}

const jobFile: ReadonlyArray<Flags.Row> = [
  {
    term: "JOB.json",
    text: "The job: {\"id\": \"nightly-2026-12-02\", \"exports\": [{\"portal\": \"acme\", \"tokenEnv\": "
      + "\"ACME_HUBSPOT_TOKEN\", \"pairs\": [\"contacts:companies\"], \"out\": \"/data/acme/2026-12-02\", "
      + "\"rateLimit\": \"100/10s\"}, ...]}. Each entry is a portal's export: the settings of `assoc-etl export "
      + "--job` (pairs and out required, each pair's dataset at out/<from>-<to>/; format, baseUrl, rateLimit, ids, "
      + "since, idsFrom, diffAgainst, ...) plus the portal's name (one entry a portal) and tokenEnv, the environment "
      + "variable that holds its token on the workers: no token is ever in the file, the database or a message. "
      + "Relative paths are made absolute here; out must be a directory every worker shares, or a bucket.",
    facts: "[required]"
  }
]

const submitPage: Flags.Page = {
  usage: "assoc-etl fleet submit JOB.json --database URL [--wait]",
  about: [
    "Submit a job to the fleet: it is checked (every entry as `export --job` checks its settings), recorded in the "
    + "fleet's PostgreSQL, and its id printed on stdout; the workers run it from there, each portal on one worker at "
    + "a time. The job's id makes it idempotent: submitting it again runs nothing again, and with --wait gives its "
    + "result (at once when it has ended). Submitting another job that names the same portals and outs resumes "
    + "what a failed job left, from the datasets' checkpoints."
  ],
  sections: [
    { title: "Arguments", rows: jobFile },
    Flags.section("Fleet", [submitFlags.database, submitFlags.wait]),
    Flags.section("Logging", [Flags.builtIn.logLevel]),
    Flags.general,
    {
      title: "Exit status",
      rows: [
        { term: "0", text: "Submitted (recorded in PostgreSQL); with --wait, every pair of every portal done." },
        {
          term: "1",
          text: "With --wait, a portal failed: fleet status tells why; what it committed is kept. Or PostgreSQL could "
            + "not be reached."
        },
        {
          term: "2",
          text: "Refused before anything was recorded: a job file that is not JSON, a field unknown or out of its "
            + "range, a portal or an out given twice, settings `export` refuses, or a job id submitted before with "
            + "other settings."
        },
        {
          term: "3",
          text: "With --wait, done, but HubSpot refused some inputs: see each pair's _errors/errors.ndjson."
        },
        { term: "130, 143", text: "Ctrl-C (SIGINT) or SIGTERM while waiting: the job goes on in the fleet." }
      ]
    }
  ],
  examples: [
    {
      title: "Tonight's job, waited for (the exit status is the job's):",
      lines: [
        "export ASSOC_ETL_DATABASE_URL=postgres://fleet:secret@db.internal:5432/fleet",
        "assoc-etl fleet submit /etc/assoc-etl/nightly-$(date +%F).json --wait"
      ]
    }
  ]
}

const submit = Command.make("submit", { job: jobArg, ...Flags.options(submitFlags) }, (args) =>
  Effect.gen(function*() {
    const { Database, Submit } = yield* fleet
    const url = yield* Database.url(args.database)
    yield* Submit.run({ file: args.job, wait: args.wait, database: url, every: Duration.seconds(10) })
  })).pipe(Command.withDescription("Submit a job to the fleet, and with --wait follow it to its end."))

// fleet status
const jobIdArg = Args.text({ name: "JOB_ID" }).pipe(Args.withDescription("A job's id."), Args.optional)

const statusFlags = {
  database,
  limit: Flags.withDefault(
    Flags.integer("limit", 1, 10_000),
    20,
    "Jobs listed, the last submitted first (without JOB_ID)."
  ),
  format: Flags.withDefault(
    Flags.choice("format", ["text", "json"]),
    "text" as const,
    "text: a head line and a table, for people; json: one JSON document on stdout, for scripts and monitoring "
      + "(a job: {id, state, submittedAt, pairs: [{portal, pair, state, rows, refused, runner, updatedAt, error}]}; "
      + "the recent jobs: {jobs: [{id, state, submittedAt, updatedAt, portals, pairs, done, refusals, failed, "
      + "running, pending, rows}]}; instants in ISO 8601, a count not yet known null)."
  )
}

const statusPage: Flags.Page = {
  usage: "assoc-etl fleet status [JOB_ID] --database URL [--format text|json]",
  about: [
    "Print a job's status: its state, then a line a pair of each portal: state (pending, running, done, "
    + "done-with-refusals, failed), rows committed (as the export goes, every few seconds), inputs refused, the "
    + "worker that runs or ran it, when it last changed, and its last error (a message; never a token). Without "
    + "JOB_ID, the jobs submitted last, a line each. It reads PostgreSQL only: it works with no worker running."
  ],
  sections: [
    {
      title: "Arguments",
      rows: [
        { term: "JOB_ID", text: "The id of a submitted job (its file's id).", facts: "[default: the recent jobs]" }
      ]
    },
    Flags.section("Fleet", [statusFlags.database, statusFlags.limit, statusFlags.format]),
    Flags.section("Logging", [Flags.builtIn.logLevel]),
    Flags.general,
    {
      title: "Exit status",
      rows: [
        { term: "0", text: "Printed, whatever the job's state." },
        { term: "1", text: "PostgreSQL could not be reached." },
        { term: "2", text: "No job has that id." }
      ]
    }
  ],
  examples: [
    {
      title: "One job, then the recent ones:",
      lines: ["assoc-etl fleet status nightly-2026-12-02", "assoc-etl fleet status"]
    },
    {
      title: "The state of a job, for a script (jq):",
      lines: ["assoc-etl fleet status nightly-2026-12-02 --format json | jq -r .state"]
    }
  ]
}

const status = Command.make("status", { job: jobIdArg, ...Flags.options(statusFlags) }, (args) =>
  Effect.gen(function*() {
    const { Database, Status } = yield* fleet
    const url = yield* Database.url(args.database)
    yield* Status.show(args.job, args.limit, args.format).pipe(
      Effect.catchTag("SqlError", (e) => Effect.fail(Database.databaseError(e))),
      Effect.provide(Database.layer(url))
    )
  })).pipe(Command.withDescription("Print a job's status, or the recent jobs."))

// fleet
export const page: Flags.Page = {
  usage: "assoc-etl fleet <command> [flags]",
  about: [
    "Export many portals (each with its own token and rate limit) on many machines: workers share the portals, "
    + "each portal on one worker at a time, and carry on the portals of a worker that died from their checkpoints. "
    + "Jobs, their progress and the workers' coordination live in one PostgreSQL (--database or "
    + "ASSOC_ETL_DATABASE_URL); the datasets in directories every worker shares, or in a bucket; the tokens in the "
    + "workers' environment. `assoc-etl fleet <command> --help` tells a command's flags."
  ],
  sections: [
    {
      title: "Commands",
      rows: [
        { term: "worker", text: "Run a worker of the fleet until Ctrl-C or SIGTERM." },
        { term: "submit JOB.json", text: "Submit a job (idempotent by its id); with --wait, follow it to its end." },
        { term: "status [JOB_ID]", text: "Print a job's status per portal and pair, or the recent jobs." }
      ]
    },
    Flags.section("Logging", [Flags.builtIn.logLevel]),
    Flags.general
  ],
  examples: [
    {
      title: "A fleet of two workers on one machine, a job, its status:",
      lines: [
        "export ASSOC_ETL_DATABASE_URL=postgres://fleet:secret@127.0.0.1:5432/fleet",
        "assoc-etl fleet worker --port 34431 & assoc-etl fleet worker --port 34432 &",
        "assoc-etl fleet submit nightly.json --wait",
        "assoc-etl fleet status nightly-2026-12-02"
      ]
    }
  ]
}

/** The help pages of the fleet's commands, by the words that name them. */
export const pages: Record<string, Flags.Page> = {
  fleet: page,
  "fleet worker": workerPage,
  "fleet submit": submitPage,
  "fleet status": statusPage
}

const printPage = (page: Flags.Page) =>
  Effect.gen(function*() {
    const terminal = yield* Terminal.Terminal
    const columns = (yield* terminal.isTTY) ? yield* terminal.columns : 0
    yield* Console.log(Flags.render(page, columns > 0 ? Math.min(columns, 100) : 100))
  })

export const command = Command.make("fleet", {}, () => printPage(page)).pipe(
  Command.withDescription(summary),
  Command.withSubcommands([worker, submit, status])
)
