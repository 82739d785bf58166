// Bytes: rows of values kept together in one allocation, moved in and out without copying.
import Foundation
import SchoolStatModel

/// Clean rows' values on their way from a worker to the committer: the rows of a batch
/// back to back in one buffer. The committer moves each row out as it takes it, so
/// there is nothing left to destroy afterwards, and no array is allocated per row
/// (docs/performance.md, "Why the code is shaped as it is").
public final class RowBlock: @unchecked Sendable {
    public let width: Int
    @usableFromInline var storage: UnsafeMutablePointer<Value>
    private var capacity: Int
    public internal(set) var lines: [Int] = []
    /// Values already moved out, from the front.
    @usableFromInline var taken = 0

    public init(width: Int, rows: Int = 256) {
        self.width = width
        capacity = max(1, rows) * width
        storage = .allocate(capacity: capacity)
    }

    /// Moves a row's values in, leaving `.missing` in their place (the row is done with them);
    /// with `columns`, only those, the others being missing in the block.
    public func append(movingFrom values: inout [Value], columns: [Int]? = nil, line: Int) {
        precondition(values.count == width)
        values.withUnsafeMutableBufferPointer { append(movingFrom: $0.baseAddress!, columns: columns, line: line) }
    }

    /// The same from `width` values in place (a row of a batch's value store), leaving `.missing` there.
    public func append(movingFrom values: UnsafeMutablePointer<Value>, columns: [Int]? = nil, line: Int) {
        let end = lines.count * width
        if end + width > capacity {
            let grown = UnsafeMutablePointer<Value>.allocate(capacity: capacity * 2)
            grown.moveInitialize(from: storage, count: end)
            storage.deallocate()
            storage = grown
            capacity *= 2
        }
        if let columns {
            (storage + end).initialize(repeating: .missing, count: width)
            for i in columns {
                (storage + end + i).pointee = (values + i).move()
                (values + i).initialize(to: .missing)
            }
        } else {
            for i in 0..<width {
                (storage + end + i).initialize(to: (values + i).move())
                (values + i).initialize(to: .missing)
            }
        }
        lines.append(line)
    }

    /// Moves the next row not yet taken into `target`, which has `width` values.
    @inlinable
    public func takeNext(into target: inout [Value]) {
        precondition(taken < lines.count * width && target.count == width)
        let row = storage + taken
        target.withUnsafeMutableBufferPointer { t in
            for i in 0..<width { t[i] = (row + i).move() }
        }
        taken += width
    }

    deinit {
        for i in taken..<(lines.count * width) { _ = (storage + i).move() }
        storage.deallocate()
    }
}
