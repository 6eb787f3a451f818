/**
 * The index advisor's answer for people: the recommended indexes with the
 * commands that add them as a migration, the queries with their cost before
 * and after, and the candidates tried (the first of them; `--json` has all).
 *
 * @module
 */
import { escapeControl, shellQuote } from "../../core/text.ts";
import { renderReport, type ReportSection } from "../../output/render.ts";
import { type Advice, type CandidateResult, MAX_TRIED_PER_QUERY } from "../index_advisor.ts";

/** Candidates of each query shown in the table, at most; the JSON has every one. */
export const SHOWN_PER_QUERY = 3;
/** Characters of a query shown in the table. */
const QUERY_WIDTH = 90;

/** `n` bytes as kB or MB. */
function size(bytes: number | undefined): string {
  if (bytes === undefined) return "";
  return bytes >= 10 * 1024 * 1024
    ? `${Math.round(bytes / 1024 / 1024)} MB`
    : `${Math.max(1, Math.round(bytes / 1024))} kB`;
}

function percent(share: number | undefined): string {
  return share === undefined ? "" : `${share > 0 ? "-" : "+"}${Math.abs(Math.round(share * 100))}%`;
}

function shortQuery(text: string): string {
  const folded = text.replace(/\s+/g, " ").trim();
  return folded.length > QUERY_WIDTH ? `${folded.slice(0, QUERY_WIDTH - 3)}...` : folded;
}

/**
 * The command that adds a recommended index's statements to the pending
 * migration (migration_add.ts), quoted for a POSIX shell.
 */
export function migrationCommand(statements: string[], message: string): string {
  return `./scripts/migration_add.ts ${shellQuote(statements.join("\n"))} -m ${
    shellQuote(message)
  }`;
}

/** Statements of one index shown in the report, at most; `--sql` prints them all. */
const SHOWN_STATEMENTS = 5;

/**
 * The recommended statements as one SQL text for `migration_add.ts -`: each
 * index's statements after a comment naming it and what it gains (names with
 * control characters escaped there, so that none ends the comment).
 */
export function adviceSql(advice: Advice): string {
  return advice.recommendations.map((r) => {
    const gains = r.gains.map((g) => `query ${g.query} ${percent(g.gain)}`).join(", ");
    const comment = escapeControl(
      `-- ${r.name}: ${r.index}, ${size(r.bytes)}${gains ? `; ${gains}` : ""} (index_advisor.ts)`,
      { newlines: false },
    );
    return [comment, ...r.statements].join("\n");
  }).join("\n\n");
}

/**
 * The advice as a compact report; `rerun`, the command that asked for it
 * (shell-quoted), is shown with `--sql | migration_add.ts -` as the way to
 * add every recommendation at once.
 */
export function adviceText(advice: Advice, rerun?: string): string {
  const verified = advice.hypopg.schema !== null;
  const lines: [string, unknown][] = [
    [
      "hypopg",
      verified
        ? `${advice.hypopg.version}: each candidate planned without and with it as a ` +
          `hypothetical index (EXPLAIN only; nothing was built or run)`
        : "not in this database: the candidates are not verified (--json has each one's " +
          "CREATE INDEX)",
    ],
    ["minimum gain", `${Math.round(advice.minGain * 100)}% of a query's cost`],
    ["costs", "the planner's estimates, in its units (EXPLAIN's total cost)"],
  ];
  if (advice.timeLimitReached) {
    lines.push([
      "time limit",
      `reached after ${advice.timeLimitReached} s: the candidates left are "not tried" ` +
      `(--time-limit)`,
    ]);
  }
  if (advice.workload && advice.queries.length > 1) {
    const { cost, costAfter } = advice.workload;
    lines.push([
      "workload cost (calls x cost)",
      `${cost} -> ${costAfter} (${percent(cost > 0 ? (cost - costAfter) / cost : 0)})`,
    ]);
  }
  const recommended: ReportSection = {
    title: "recommended",
    rows: {
      columns: ["name", "index", "size", "gains"],
      rows: advice.recommendations.map((r) => ({
        name: r.name,
        index: r.index,
        size: size(r.bytes),
        gains: r.gains.map((g) => `query ${g.query} ${percent(g.gain)}`).join(", "),
      })),
    },
  };
  const queries: ReportSection = {
    title: "queries",
    rows: {
      columns: ["n", "calls", "plan", "cost", "with_advice", "query", "note"],
      labels: ["n", "calls", "plan", "cost", "with advice", "query", "note"],
      rows: advice.queries.map((q, i) => ({
        n: i + 1,
        calls: q.calls,
        plan: q.plan,
        cost: q.cost,
        with_advice: q.costAfter !== undefined && q.costAfter !== q.cost ? q.costAfter : "",
        query: shortQuery(q.query),
        note: q.error ?? q.note,
      })),
    },
  };
  const leftOut = advice.queries.reduce((sum, q) => sum + (q.candidatesLeftOut ?? 0), 0);
  // The best few of each query: recommended first, then by gain; --json has every one.
  const rank = (c: CandidateResult) => (c.verdict === "recommended" ? 2 : 0) + (c.gain ?? -1);
  const tried = advice.queries.flatMap((q, i) =>
    [...q.candidates].sort((a, b) => rank(b) - rank(a)).map((c) => ({
      query: i + 1,
      index: c.index,
      reason: c.reason,
      cost: c.cost,
      change: percent(c.gain),
      used: c.used === undefined ? "" : c.used ? "yes" : "no",
      size: size(c.bytes),
      verdict: c.error
        ? `${c.verdict}: ${c.error}`
        : c.instead
        ? `${c.verdict} (the plan uses ${c.instead.join(", ")})`
        : c.verdict,
    }))
  );
  const shown = tried.filter((row, i) =>
    tried.slice(0, i).filter((other) => other.query === row.query).length < SHOWN_PER_QUERY
  );
  const candidates: ReportSection = {
    title: "candidates",
    rows: {
      columns: ["query", "index", "reason", "cost", "change", "used", "size", "verdict"],
      labels: ["query", "index", "reason", "cost with it", "change", "used", "size", "verdict"],
      rows: shown,
    },
    total: tried.length,
    note: [
      shown.length < tried.length
        ? `(the best ${SHOWN_PER_QUERY} of each query, ${shown.length} of ${tried.length}; ` +
          `--json lists every candidate)`
        : "",
      leftOut
        ? `(${leftOut} more candidates were not tried: ${MAX_TRIED_PER_QUERY} per query at most)`
        : "",
    ].filter(Boolean).join("\n") || undefined,
  };
  const out = [renderReport(lines, [recommended, queries, candidates])];
  if (advice.recommendations.length) {
    out.push("nothing was built; to add them as a pending migration:");
    // Each line is one line: a name's line break or control character is shown escaped, so
    // that no line pasted into a shell holds what a name put there.
    const line = (text: string) => out.push(escapeControl(text, { newlines: false }));
    // A command is printed only as it runs, and one line of it per statement: one whose text
    // holds a control character or a line break of its own (a name's) is left to --sql, which
    // writes the statements as they are.
    const runnable = (command: string) => escapeControl(command, { newlines: false }) === command;
    const all = rerun && `  all: ${rerun} --sql | ./scripts/migration_add.ts - -m ` +
        shellQuote("indexes from index_advisor.ts");
    if (all && runnable(all)) out.push(all);
    else line("  all: the same command with --sql, piped into ./scripts/migration_add.ts -");
    for (const r of advice.recommendations) {
      if (r.note) line(`  # ${r.note}`);
      const command = migrationCommand(r.statements, `index ${r.name} (index_advisor.ts)`);
      if (r.statements.length <= SHOWN_STATEMENTS && r.statements.every(runnable)) {
        out.push(`  ${command}`);
        continue;
      }
      line(`  ${r.name}: ${r.statements.length} statements, the first ${SHOWN_STATEMENTS}:`);
      for (const statement of r.statements.slice(0, SHOWN_STATEMENTS)) line(`    ${statement}`);
      line(`    ... (--sql or --json has them as they are)`);
    }
  }
  return out.join("\n");
}
