/// A set of event ids, as a bulk load holds them (`BulkLoadEventIds`): UUIDs and texts of up to 15
/// bytes (most ids) as 16 bytes each in open-addressed tables with a cheap seeded hash, longer texts
/// in a `Set<String>`. For half a million ids in a replay, a `Set<AppliedEventKey>` spent 0.2 s of
/// the writer's time hashing `String`s and missing the cache; this takes a fraction of that.
struct EventIdSet {
    private var uuids = PackedIdTable()
    private var shortTexts = PackedIdTable()
    private var longTexts = Set<String>()

    var count: Int { uuids.count + shortTexts.count + longTexts.count }

    /// False when the set already held it.
    mutating func insert(_ key: AppliedEventKey) -> Bool {
        switch Self.packed(key) {
        case .uuid(let id): uuids.insert(id)
        case .shortText(let id): shortTexts.insert(id)
        case .longText(let text): longTexts.insert(text).inserted
        }
    }

    func contains(_ key: AppliedEventKey) -> Bool {
        switch Self.packed(key) {
        case .uuid(let id): uuids.contains(id)
        case .shortText(let id): shortTexts.contains(id)
        case .longText(let text): longTexts.contains(text)
        }
    }

    mutating func remove(_ key: AppliedEventKey) {
        switch Self.packed(key) {
        case .uuid(let id): uuids.remove(id)
        case .shortText(let id): shortTexts.remove(id)
        case .longText(let text): longTexts.remove(text)
        }
    }

    private enum Packed {
        case uuid(PackedId)
        case shortText(PackedId)
        case longText(String)
    }

    private static func packed(_ key: AppliedEventKey) -> Packed {
        switch key {
        case .uuid(let high, let low): return .uuid(PackedId(high: high, low: low))
        case .text(var text):
            // Up to 15 bytes and their count in the last: two texts pack alike only if equal.
            let short = text.withUTF8 { utf8 -> PackedId? in
                guard utf8.count <= 15 else { return nil }
                var id = PackedId(high: 0, low: 0)
                withUnsafeMutableBytes(of: &id) { bytes in
                    bytes.copyMemory(from: UnsafeRawBufferPointer(utf8))
                    bytes[15] = UInt8(utf8.count)
                }
                return id
            }
            return short.map { .shortText($0) } ?? .longText(text)
        }
    }
}

struct PackedId: Equatable {
    var high: UInt64
    var low: UInt64
}

/// Open addressing with linear probing over 16-byte ids. The hash is seeded per process, so that
/// ids chosen to collide cannot be prepared in advance; removal (a rolled-back batch, rare) leaves
/// a tombstone.
struct PackedIdTable {
    private enum Slot: UInt8 {
        case empty, full, removed
    }
    private var ids: [PackedId] = []
    private var slots: [Slot] = []
    private(set) var count = 0
    private var removed = 0
    private static let seed = (UInt64.random(in: .min ... .max), UInt64.random(in: .min ... .max))

    mutating func insert(_ id: PackedId) -> Bool {
        if (count + removed + 1) * 10 > slots.count * 7 { rehash(minimumCapacity: (count + 1) * 2) }
        switch find(id) {
        case .found: return false
        case .free(let index):
            if slots[index] == .removed { removed -= 1 }
            ids[index] = id
            slots[index] = .full
            count += 1
            return true
        }
    }

    func contains(_ id: PackedId) -> Bool {
        guard !slots.isEmpty, case .found = find(id) else { return false }
        return true
    }

    mutating func remove(_ id: PackedId) {
        guard !slots.isEmpty, case .found(let index) = find(id) else { return }
        slots[index] = .removed
        count -= 1
        removed += 1
    }

    private enum Probe {
        case found(Int)
        case free(Int)
    }

    /// Where the id is, or the first free slot on its probe path (a tombstone, else an empty slot).
    private func find(_ id: PackedId) -> Probe {
        let mask = slots.count - 1
        var index = Self.hash(id) & mask
        var firstRemoved: Int?
        while true {
            switch slots[index] {
            case .empty: return .free(firstRemoved ?? index)
            case .full: if ids[index] == id { return .found(index) }
            case .removed: if firstRemoved == nil { firstRemoved = index }
            }
            index = (index + 1) & mask
        }
    }

    /// Mixes both words with the seed through one 128-bit product (as wyhash does).
    private static func hash(_ id: PackedId) -> Int {
        let product = (id.high ^ seed.0).multipliedFullWidth(by: id.low ^ seed.1)
        return Int(truncatingIfNeeded: product.high ^ product.low)
    }

    private mutating func rehash(minimumCapacity: Int) {
        var size = 16
        while size * 7 < minimumCapacity * 10 { size *= 2 }
        let oldIds = ids
        let oldSlots = slots
        ids = Array(repeating: PackedId(high: 0, low: 0), count: size)
        slots = Array(repeating: .empty, count: size)
        count = 0
        removed = 0
        for (index, slot) in oldSlots.enumerated() where slot == .full { _ = insert(oldIds[index]) }
    }
}
