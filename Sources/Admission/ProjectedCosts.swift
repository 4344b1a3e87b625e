import Foundation
import Synchronization

/// Projected costs (``AdmissionPolicy/projectedCost(_:_:_:)``) remembered by what they depend on:
/// jobs of one shape, runtime and flavor price cost the same, and the Decimal arithmetic (a
/// division and a rounding per job, then the money text) was ~8% of admission's CPU. Bounded:
/// emptied when it reaches `capacity` distinct shapes.
enum ProjectedCosts {
    struct Key: Hashable {
        var units: Int
        var seconds: Int
        var price: Decimal
        var discount: Decimal
    }

    static let capacity = 4_096
    private static let memo = Mutex<[Key: (amount: Decimal, text: String)]>([:])

    static func cost(_ spec: JobSpec, _ resources: Resources, _ flavor: Flavor) -> (amount: Decimal, text: String) {
        let key = Key(
            units: flavor.units(of: resources) * spec.replicas, seconds: spec.maxRuntimeSeconds, price: flavor.pricePerUnitHour,
            discount: spec.priorityClass == .batch ? flavor.batchDiscount : 0)
        if let known = memo.withLock({ $0[key] }) { return known }
        let amount = AdmissionPolicy.projectedCost(spec, resources, flavor)
        let cost = (amount: amount, text: amount.moneyText)
        memo.withLock { memo in
            if memo.count >= capacity { memo.removeAll(keepingCapacity: true) }
            memo[key] = cost
        }
        return cost
    }
}
