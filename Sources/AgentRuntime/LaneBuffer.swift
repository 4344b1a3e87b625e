import AMQP

/// Deliveries a consumer has received but not yet settled, kept per lane so a batch takes the
/// highest lane first, and the acknowledgements that settle a batch. With one queue this is plain
/// arrival order and one multiple-ack per batch, as before lanes. With lanes, a batch may settle
/// deliveries that arrived after others still waiting in a lower lane; a multiple-ack must not
/// cover those, so it goes up to just below the oldest unsettled delivery and the rest are acked
/// one by one.
struct LaneBuffer {
    private var lanes: [[AMQPDelivery]]
    private var heads: [Int]
    /// Delivery tags received and not yet acked or nacked (waiting here or in the batch in hand).
    private var unsettled: Set<UInt64> = []
    private(set) var count = 0

    init(laneCount: Int) {
        lanes = Array(repeating: [], count: max(1, laneCount))
        heads = Array(repeating: 0, count: max(1, laneCount))
    }

    var isEmpty: Bool { count == 0 }

    mutating func add(_ delivery: AMQPDelivery, lane: Int) {
        lanes[min(max(0, lane), lanes.count - 1)].append(delivery)
        unsettled.insert(delivery.deliveryTag)
        count += 1
    }

    /// Deliveries weighing up to `limit` in all (at least one): all of the highest non-empty lane
    /// first, then the next. A delivery weighs the number of messages it carries (`weight`: an
    /// event batch counts its events), so a transaction holds about `limit` messages.
    mutating func takeBatch(limit: Int, weight: (AMQPDelivery) -> Int = { _ in 1 }) -> [AMQPDelivery] {
        var batch: [AMQPDelivery] = []
        var taken = 0
        for lane in lanes.indices where taken < limit {
            while heads[lane] < lanes[lane].count {
                let delivery = lanes[lane][heads[lane]]
                let cost = max(1, weight(delivery))
                guard batch.isEmpty || taken + cost <= limit else { break }
                batch.append(delivery)
                taken += cost
                heads[lane] += 1
            }
            if heads[lane] == lanes[lane].count {
                lanes[lane].removeAll(keepingCapacity: true)
                heads[lane] = 0
            }
            // A lane with deliveries left (they did not fit) ends the batch: lower lanes wait.
            if taken >= limit || heads[lane] < lanes[lane].count { break }
        }
        count -= batch.count
        return batch
    }

    /// Marks a batch settled: `requeued` tags were already nacked one by one; returns the acks for
    /// the rest: one multiple-ack up to `multipleUpTo`, then `singles`.
    mutating func settle(_ batch: [UInt64], requeued: Set<UInt64>) -> (multipleUpTo: UInt64?, singles: [UInt64]) {
        for tag in batch { unsettled.remove(tag) }
        let oldestWaiting = unsettled.min() ?? .max
        let acked = batch.filter { !requeued.contains($0) }
        let below = acked.filter { $0 < oldestWaiting }
        return (below.max(), acked.filter { $0 > oldestWaiting }.sorted())
    }
}
