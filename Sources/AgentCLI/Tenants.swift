import Admission
import AgentCore
import ArgumentParser
import Foundation

struct Tenants: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create tenants and set their quotas, budgets and state.",
        subcommands: [Create.self, SetQuota.self, SetBudget.self, Activate.self, Deactivate.self, Show.self, List.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a tenant.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Tenant name: lowercase letters, digits and '-'.") var name: String
        @Option(help: "Fair-share weight (greater than 0).") var weight: Decimal = 1
        @Option(help: "Cohort whose members lend each other unused quota.") var cohort: String?
        @Option(help: "Monthly budget in dollars (default: unlimited).") var monthlyBudget: Decimal?
        @Option(help: "Total budget in dollars (default: unlimited).") var totalBudget: Decimal?

        func run() throws {
            try options.withRegistry { registry in try registry.createTenant(name, weight: weight, cohort: cohort, monthlyBudget: monthlyBudget, totalBudget: totalBudget) }
            print("created tenant \(name) (weight \(weight), cohort \(cohort ?? "none"), monthly \(money(monthlyBudget)), total \(money(totalBudget)))")
        }
    }

    struct SetQuota: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-quota", abstract: "Set a tenant's quota for one flavor (GPUs, or cores for CPU flavors).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Tenant.") var name: String
        @Option(help: "Flavor, e.g. gpu-v100.") var flavor: String
        @Option(help: "Guaranteed units.") var nominal: Int
        @Option(help: "Extra units it may borrow from its cohort.") var borrowingLimit: Int = 0

        func run() throws {
            try options.withRegistry { registry in try registry.setQuota(tenant: name, flavor: flavor, nominal: nominal, borrowingLimit: borrowingLimit) }
            print("tenant \(name): \(flavor) nominal \(nominal), borrowing limit \(borrowingLimit)")
        }
    }

    struct SetBudget: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-budget",
            abstract: "Set a tenant's budgets in dollars, warning threshold and over-budget policy; what is omitted stays as it is.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Tenant.") var name: String
        @Option(help: "Monthly budget (calendar month, UTC).") var monthly: Decimal?
        @Option(help: "Total budget.") var total: Decimal?
        @Flag(help: "No monthly limit.") var noMonthly = false
        @Flag(help: "No total limit.") var noTotal = false
        @Option(help: "Warn (budget.warning) when this percentage of a budget is spent (default 80; unchanged if omitted).")
        var warnAt: Decimal?
        @Option(
            help: ArgumentHelp(
                "Once a budget is spent: stop (its jobs stop at their next checkpoint and wait) or downgrade (they run on, preemptible by other tenants' jobs). Unchanged if omitted; default stop.",
                valueName: "stop|downgrade"))
        var overBudget: String?

        func validate() throws {
            if noMonthly && monthly != nil { throw ValidationError("--monthly and --no-monthly contradict each other") }
            if noTotal && total != nil { throw ValidationError("--total and --no-total contradict each other") }
            if monthly == nil && total == nil && !noMonthly && !noTotal && warnAt == nil && overBudget == nil {
                throw ValidationError("nothing to set: give --monthly, --total, --no-monthly, --no-total, --warn-at or --over-budget")
            }
        }

        func run() throws {
            var policy: Registry.OverBudgetPolicy?
            if let overBudget {
                guard let value = Registry.OverBudgetPolicy(rawValue: overBudget) else {
                    throw ValidationError("--over-budget must be stop or downgrade, got \(overBudget)")
                }
                policy = value
            }
            func change(_ value: Decimal?, clear: Bool) -> Registry.BudgetChange {
                clear ? .unlimited : value.map(Registry.BudgetChange.amount) ?? .keep
            }
            let (newMonthly, newTotal) = try options.withRegistry { registry in
                try registry.changeBudget(
                    tenant: name, monthly: change(monthly, clear: noMonthly), total: change(total, clear: noTotal), warnAtPercent: warnAt,
                    overBudget: policy)
            }
            var line = "tenant \(name): monthly \(money(newMonthly)), total \(money(newTotal))"
            if let warnAt { line += ", warn at \(warnAt)%" }
            if let policy { line += ", over budget: \(policy.rawValue)" }
            print(line)
        }
    }

    struct Activate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a tenant submit jobs again.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Tenant.") var name: String

        func run() throws {
            try options.withRegistry { registry in try registry.setActive(tenant: name, true) }
            print("tenant \(name) is active")
        }
    }

    struct Deactivate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Refuse new jobs from a tenant.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Tenant.") var name: String

        func run() throws {
            try options.withRegistry { registry in try registry.setActive(tenant: name, false) }
            print("tenant \(name) is inactive: new jobs are rejected")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a tenant's settings, quotas and reserved spend.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Tenant.") var name: String

        func run() throws {
            guard let (tenant, spend) = try options.withRegistry({ try $0.tenant(name) }) else {
                FileHandle.standardError.write(Data("agentctl: error: tenant \(name) does not exist\n".utf8))
                throw ExitCode.failure
            }
            if options.output == .json {
                struct Output: Encodable {
                    let tenant: TenantRecord
                    let reserved: [String: String]
                }
                try printJSON(Output(tenant: tenant, reserved: Dictionary(uniqueKeysWithValues: spend.map { ($0.period, $0.reserved.moneyText) })))
                return
            }
            print("tenant:         \(tenant.name) (\(tenant.active ? "active" : "inactive"))")
            print("weight:         \(tenant.weight)")
            print("cohort:         \(tenant.cohort ?? "none")")
            print("monthly budget: \(money(tenant.monthlyBudget))")
            print("total budget:   \(money(tenant.totalBudget))")
            // Admission's reservations as made; the cost accountant releases them as it meters.
            for (period, reserved) in spend {
                print("admitted \(period == "total" ? "in total" : "in " + period): $\(reserved.moneyText) of projected cost")
            }
            print("spent:          agentctl cost budgets --tenant \(tenant.name) (metered, still reserved, forecast)")
            var quotas = TextTable("FLAVOR", "NOMINAL", "BORROWING LIMIT")
            for (flavor, quota) in tenant.quotas.sorted(by: { $0.key < $1.key }) {
                quotas.add(flavor, String(quota.nominal), String(quota.borrowingLimit))
            }
            print("")
            print(tenant.quotas.isEmpty ? "no quotas (agentctl tenants set-quota)" : quotas.render())
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tenants.")
        @OptionGroup var options: GlobalOptions

        func run() throws {
            let tenants = try options.withRegistry { registry in try registry.tenants() }
            if options.output == .json {
                try printJSON(tenants)
                return
            }
            var table = TextTable("TENANT", "ACTIVE", "WEIGHT", "COHORT", "MONTHLY", "TOTAL", "QUOTAS")
            for tenant in tenants {
                let quotas = tenant.quotas.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.nominal)+\($0.value.borrowingLimit)" }
                table.add(
                    tenant.name, tenant.active ? "yes" : "no", "\(tenant.weight)", tenant.cohort ?? "-", money(tenant.monthlyBudget),
                    money(tenant.totalBudget), quotas.joined(separator: " "))
            }
            print(tenants.isEmpty ? "no tenants" : table.render())
        }
    }
}
