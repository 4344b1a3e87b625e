import AgentCore
import ArgumentParser
import CostAccountant
import CostAccounting
import Foundation
import Postgres

/// `agentctl cost`: reports from the cost accountant's ledger (docs/cost.md).
struct Cost: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Metered cost, budgets and utilisation (the cost accountant's ledger; docs/cost.md).",
        subcommands: [Report.self, Budgets.self, Utilisation.self])

    /// `--output` here also offers csv and ndjson (one JSON object per line, for analytics warehouses).
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, csv, json, ndjson
    }

    struct Options: ParsableArguments {
        @Option(help: "Configuration file (default: config/agentmgr.json if present).")
        var config: String?

        @Option(help: "Output format: table, csv, json (one document) or ndjson (one row per line).")
        var output: Format = .table

        func withDatabase<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
            try GlobalOptions.parse(config.map { ["--config", $0] } ?? []).withDatabase(body)
        }
    }

    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Metered cost by day, agent or job: replica-hours, GPU-hours, core-hours and money.")
        @OptionGroup var options: Options
        @Option(help: "Tenant (default: every tenant).") var tenant: String?
        @Option(help: "Group by day, agent or job.") var by: CostQueries.Grouping = .day
        @Option(help: "First day (YYYY-MM-DD, UTC; default: the first of this month).") var since: String?
        @Option(help: "Last day, inclusive (YYYY-MM-DD, UTC; default: today).") var until: String?

        func run() throws {
            let now = Date()
            let first = try since.map { try day($0, option: "--since") } ?? ISO8601.date(from: Metering.monthText(now) + "-01T00:00:00Z")!
            let last = try until.map { try day($0, option: "--until") }
            if let last, last < first { throw ValidationError("--until (\(until!)) is before --since (\(Metering.dayText(first)))") }
            let rows = try options.withDatabase { try CostQueries.report(tenant: tenant, by: by, since: first, until: last, in: $0) }
            let total = rows.reduce(Decimal(0)) { $0 + $1.cost }
            switch options.output {
            case .ndjson:
                for row in rows { try printJSON(row) }
            case .json:
                struct Document: Encodable {
                    var tenant: String?
                    var by: String
                    var since: String
                    var until: String?
                    var rows: [CostQueries.ReportRow]
                    var total: Decimal
                }
                try printJSON(
                    Document(
                        tenant: tenant, by: by.rawValue, since: Metering.dayText(first), until: last.map(Metering.dayText), rows: rows, total: total))
            case .csv:
                print(csvLine(["tenant", by.rawValue, "name", "agent", "flavor", "runs", "replica_hours", "gpu_hours", "core_hours", "cost"]))
                for row in rows {
                    print(
                        csvLine([
                            row.tenant, row.key, row.name ?? "", row.agent ?? "", row.flavor ?? "", String(row.runs), hours(row.replicaHours),
                            hours(row.gpuHours), hours(row.coreHours), "\(row.cost)",
                        ]))
                }
            case .table:
                guard !rows.isEmpty else {
                    print("nothing metered since \(Metering.dayText(first))\(tenant.map { " for tenant \($0)" } ?? "")")
                    return
                }
                var table =
                    by == .job
                    ? TextTable("TENANT", "JOB", "NAME", "AGENT", "FLAVOR", "RUNS", "REPLICA-H", "GPU-H", "CORE-H", "COST")
                    : TextTable("TENANT", by == .day ? "DAY" : "AGENT", "RUNS", "REPLICA-H", "GPU-H", "CORE-H", "COST")
                for row in rows {
                    let figures = [String(row.runs), hours(row.replicaHours), hours(row.gpuHours), hours(row.coreHours), "$" + row.cost.moneyText]
                    table.add(
                        row: by == .job
                            ? [row.tenant, row.key, row.name ?? "-", row.agent ?? "-", row.flavor ?? "-"] + figures
                            : [row.tenant, row.key] + figures)
                }
                print(table.render())
                print("total $\(total.moneyText) from \(Metering.dayText(first)) to \(last.map(Metering.dayText) ?? "today") (UTC)")
            }
        }
    }

    struct Budgets: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Each tenant's budgets: spent, still reserved by admitted jobs, month-end forecast, state and policy.")
        @OptionGroup var options: Options
        @Option(help: "Tenant (default: every tenant).") var tenant: String?

        func run() throws {
            let rows = try options.withDatabase { try CostQueries.budgets(tenant: tenant, in: $0) }
            if let tenant, rows.isEmpty { throw ValidationError("tenant \"\(tenant)\" does not exist") }
            let csvHeader = [
                "tenant", "month", "monthly_budget", "spent_this_month", "reserved_this_month", "forecast_month_end", "total_budget",
                "spent_total", "burn_per_hour", "state", "warning_percent", "over_budget",
            ]
            let printed = try printRows(rows, as: options.output, csvHeader: csvHeader) { row in
                [
                    row.tenant, row.month, row.monthlyBudget.map { "\($0)" } ?? "", "\(row.spentThisMonth)", "\(row.reservedThisMonth)",
                    "\(row.forecastMonthEnd)", row.totalBudget.map { "\($0)" } ?? "", "\(row.spentTotal)", "\(row.burnPerHour)", row.state,
                    "\(row.warningPercent)", row.overBudget,
                ]
            }
            if !printed {
                var table = TextTable(
                    "TENANT", "MONTHLY", "SPENT", "RESERVED", "FORECAST", "TOTAL BUDGET", "SPENT TOTAL", "$/HOUR NOW", "STATE", "WARN AT", "OVER BUDGET")
                for row in rows {
                    table.add(
                        row.tenant, money(row.monthlyBudget), "$" + row.spentThisMonth.moneyText, "$" + row.reservedThisMonth.moneyText,
                        "$" + row.forecastMonthEnd.moneyText, money(row.totalBudget), "$" + row.spentTotal.moneyText, "$" + row.burnPerHour.moneyText,
                        row.state, "\(row.warningPercent)%", row.overBudget)
                }
                print(table.render())
                print("month \(rows.first?.month ?? Metering.monthText(Date())) (UTC); forecast: spent + what running jobs cost per hour until the month ends, at most what is reserved")
            }
        }
    }

    struct Utilisation: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "utilisation", abstract: "Per pool: capacity, allocated and busy GPU-hours (core-hours for CPU pools).",
            aliases: ["utilization"])
        @OptionGroup var options: Options
        @Option(help: "Window start (YYYY-MM-DD, UTC, or an ISO 8601 time; default: 24 hours ago).") var since: String?

        func run() throws {
            let now = Date()
            let start = try since.map { try day($0, option: "--since") } ?? now.addingTimeInterval(-86_400)
            guard start < now else { throw ValidationError("--since must be in the past") }
            let rows = try options.withDatabase { try CostQueries.utilisation(since: start, now: now, in: $0) }
            let printed = try printRows(
                rows, as: options.output, csvHeader: ["pool", "flavor", "unit", "nodes", "capacity_hours", "allocated_hours", "busy_hours"]
            ) { row in
                [row.pool, row.flavor, row.unit, String(row.nodes), hours(row.capacityHours), hours(row.allocatedHours), hours(row.busyHours)]
            }
            if !printed {
                var table = TextTable("POOL", "FLAVOR", "UNIT", "NODES", "CAPACITY-H", "ALLOCATED-H", "BUSY-H", "ALLOCATED", "BUSY/ALLOCATED")
                for row in rows {
                    table.add(
                        row.pool, row.flavor, row.unit, String(row.nodes), hours(row.capacityHours), hours(row.allocatedHours), hours(row.busyHours),
                        percent(row.allocatedHours, of: row.capacityHours), percent(row.busyHours, of: row.allocatedHours))
                }
                print(rows.isEmpty ? "no nodes" : table.render())
                print("since \(ISO8601.string(from: start)); busy = time runs were running on allocated capacity")
            }
        }
    }
}

/// Rows as one JSON document, one JSON object per line, or CSV; false for `table` (the caller renders it).
private func printRows<Row: Encodable>(
    _ rows: [Row], as format: Cost.Format, csvHeader: [String], csvRow: (Row) -> [String]
) throws -> Bool {
    switch format {
    case .table: return false
    case .json: try printJSON(rows)
    case .ndjson: for row in rows { try printJSON(row) }
    case .csv:
        print(csvLine(csvHeader))
        for row in rows { print(csvLine(csvRow(row))) }
    }
    return true
}

/// `2026-11-25` (midnight UTC) or a full ISO 8601 time.
private func day(_ text: String, option: String) throws -> Date {
    if let date = ISO8601.date(from: text + "T00:00:00Z") ?? ISO8601.date(from: text) { return date }
    throw ValidationError("\(option) must be a day (YYYY-MM-DD) or an ISO 8601 time, got \(text)")
}

private func hours(_ value: Double) -> String { String(format: "%.3f", value) }

private func percent(_ part: Double, of whole: Double) -> String {
    whole > 0 ? String(format: "%.1f%%", part / whole * 100) : "-"
}

/// One CSV record (RFC 4180: fields with a comma, quote or line break are quoted).
func csvLine(_ fields: [String]) -> String {
    fields.map { field in
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }.joined(separator: ",")
}

extension CostQueries.Grouping: ExpressibleByArgument {}
