// Model (rules): the regular expressions a schema's `pattern:` may use — one parser for one
// syntax, compiled once when the rules load. Matching takes time linear in the cell (a Thompson
// automaton run breadth-first, as RE2 does), so that no pattern a county writes and no cell a
// school sends can make a run hang; the patterns codes use (`[0-9]{17}[0-9X]`, `[A-Z0-9]+`) are
// recognised in the parsed pattern and matched byte by byte without the automaton.

/// A compiled `pattern:`, matched against a whole cell.
///
/// The language: literals; `.`; classes `[a-z0-9]`, `[^…]`; `\d \w \s \D \W \S \t \n \r` and
/// escaped punctuation; groups `(…)`, `(?:…)`, `(?<name>…)`; alternation `|`; the quantifiers
/// `* + ? {n} {n,} {n,m}` (lazy forms are accepted and mean the same for a whole match); `^` and
/// `$`. What cannot be matched in linear time — backreferences, lookaround, possessive
/// quantifiers, inline flags — is refused when the rules load, with the reason.
public struct Pattern: Sendable {
    /// The pattern as the rule file writes it.
    public let source: String
    /// The same pattern as a run of ASCII classes each taken a fixed number of times but the last
    /// (`[0-9]{17}[0-9X]`, `[A-Z0-9]+`, `T[0-9]{7}`), when it is one: then each class's share of
    /// the cell is known, and the cell's bytes are checked in one pass.
    @usableFromInline let classes: ClassRun?

    /// Instructions a pattern may compile to (counted repetitions are expanded).
    public static let maximumProgram = 5_000

    public struct SyntaxError: Error, Equatable, CustomStringConvertible {
        public init(offset: Int, message: String) {
            self.offset = offset; self.message = message
        }

        public var offset: Int
        public var message: String
        public var description: String { "第 \(offset + 1) 个字符处：\(message)" }
    }

    fileprivate indirect enum Node {
        case empty
        case set(ranges: [ClosedRange<UInt32>], negated: Bool) // one scalar of a class
        case any
        case start, end
        case concat([Node])
        case alternate([Node])
        case repeated(Node, min: Int, max: Int?) // max nil: unbounded
    }

    fileprivate enum Instruction {
        case match(ranges: [ClosedRange<UInt32>], negated: Bool)
        case any
        case split(Int, Int)
        case jump(Int)
        case assertStart, assertEnd
        case accept
    }

    private let program: [Instruction]

    public init(_ pattern: String) throws(SyntaxError) {
        source = pattern
        var parser = PatternParser(Array(pattern.unicodeScalars))
        let node = try parser.parseAll()
        var builder = ProgramBuilder()
        try builder.emit(node)
        builder.append(.accept)
        program = builder.program
        classes = ClassRun(node)
    }

    /// Whether every text the pattern matches is made of ASCII letters and digits only
    /// (`[0-9]{17}[0-9X]`): such a value is written to CSV as it is, never quoted or guarded.
    public var allowsOnlyAlphanumerics: Bool {
        guard let classes else { return false }
        let alphanumerics = (low: UInt64(0x03FF) << 48, high: (UInt64(0x03FF_FFFF) << 1) | (UInt64(0x03FF_FFFF) << 33))
        return classes.pieces.allSatisfy { $0.low & ~alphanumerics.low == 0 && $0.high & ~alphanumerics.high == 0 }
    }

    /// The lengths of the texts the pattern matches among those made only of `bytes` (ASCII), when
    /// every class of the pattern allows all of them; nil otherwise. A code cell known to be made of
    /// such bytes then matches exactly when its length is in the range, without a look at its bytes.
    public func lengths(whenMadeOf bytes: some Sequence<UInt8>) -> ClosedRange<Int>? {
        guard let classes else { return nil }
        var needed = (low: UInt64(0), high: UInt64(0))
        for b in bytes {
            guard b < 128 else { return nil }
            if b < 64 { needed.low |= 1 << UInt64(b) } else { needed.high |= 1 << UInt64(b - 64) }
        }
        guard classes.pieces.allSatisfy({ $0.low & needed.low == needed.low && $0.high & needed.high == needed.high }) else { return nil }
        let fixed = classes.pieces.dropLast().reduce(0) { $0 + $1.minimum }
        let last = classes.pieces[classes.pieces.count - 1]
        let (upper, overflow) = fixed.addingReportingOverflow(last.maximum)
        return (fixed + last.minimum)...(overflow ? Int.max : upper)
    }

    /// Whether the whole of `text` matches.
    public func matches(_ text: String) -> Bool {
        if let classes {
            var text = text
            return text.withUTF8 { classes.matches($0) }
        }
        return automatonMatches(text)
    }

    /// Whether the whole of a cell's UTF-8 bytes matches, for a pattern that is a run of ASCII
    /// classes; nil for any other pattern (the caller then has the text matched).
    @inlinable
    public func quickMatch(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool? {
        classes?.matches(bytes)
    }

    private func automatonMatches(_ text: String) -> Bool {
        let count = program.count
        var current: [Int] = []
        var next: [Int] = []
        current.reserveCapacity(count)
        next.reserveCapacity(count)
        var mark = [Int](repeating: -1, count: count)
        var generation = 0
        let scalars = Array(text.unicodeScalars)

        // Adds `pc` and everything reachable from it without reading a scalar, once per step.
        func add(_ pc: Int, at position: Int, to list: inout [Int]) {
            var stack = [pc]
            while let pc = stack.popLast() {
                if mark[pc] == generation { continue }
                mark[pc] = generation
                switch program[pc] {
                case .jump(let to): stack.append(to)
                case .split(let a, let b): stack.append(b); stack.append(a)
                case .assertStart: if position == 0 { stack.append(pc + 1) }
                case .assertEnd: if position == scalars.count { stack.append(pc + 1) }
                default: list.append(pc)
                }
            }
        }
        add(0, at: 0, to: &current)
        for (position, scalar) in scalars.enumerated() {
            generation += 1
            next.removeAll(keepingCapacity: true)
            let value = scalar.value
            for pc in current {
                switch program[pc] {
                case .any:
                    if value != 0x0A { add(pc + 1, at: position + 1, to: &next) }
                case .match(let ranges, let negated):
                    var inside = false
                    for r in ranges where r.contains(value) { inside = true; break }
                    if inside != negated { add(pc + 1, at: position + 1, to: &next) }
                default: break
                }
            }
            swap(&current, &next)
            if current.isEmpty { return false }
        }
        return current.contains { if case .accept = program[$0] { true } else { false } }
    }
}

/// A pattern that is a run of ASCII classes, each taken a fixed number of times but the last.
public struct ClassRun: Sendable {
    @usableFromInline struct Piece: Sendable {
        /// The ASCII bytes allowed, one bit each: 0–63 in `low`, 64–127 in `high`.
        @usableFromInline var low: UInt64 = 0
        @usableFromInline var high: UInt64 = 0
        @usableFromInline var minimum: Int
        @usableFromInline var maximum: Int

        @inlinable @inline(__always)
        func allows(_ b: UInt8) -> Bool {
            // One of the two words by a select, not a branch; bytes from 128 are never allowed.
            let word = b & 64 == 0 ? low : high
            return b < 128 && (word &>> UInt64(b & 63)) & 1 != 0
        }

        /// Only the ten ASCII digits: checked eight bytes at a time.
        @inlinable var isDigits: Bool { low == UInt64(0x03FF) << 48 && high == 0 }

        /// Whether `b[from..<to]` are all allowed.
        @inlinable @inline(__always)
        func allowsAll(_ b: UnsafeBufferPointer<UInt8>, from: Int, to: Int) -> Bool {
            var j = from
            if isDigits, let base = b.baseAddress {
                let ones: UInt64 = 0x0101_0101_0101_0101
                while j + 8 <= to {
                    let v = UnsafeRawPointer(base + j).loadUnaligned(as: UInt64.self)
                    // Each byte 0x30–0x39: high nibble 3, and adding 6 does not carry into it.
                    guard v & (0xF0 &* ones) == 0x30 &* ones, (v &+ 0x06 &* ones) & (0xF0 &* ones) == 0x30 &* ones else { return false }
                    j += 8
                }
            }
            while j < to {
                guard allows(b[j]) else { return false }
                j += 1
            }
            return true
        }
    }

    @usableFromInline let pieces: [Piece]

    /// The run a parsed pattern is, or nil: only sets of ASCII characters (not negated), each
    /// repeated a fixed number of times except the last.
    fileprivate init?(_ node: Pattern.Node) {
        var parts: [Pattern.Node]
        if case .concat(let p) = node { parts = p } else { parts = [node] }
        var pieces: [Piece] = []
        for part in parts {
            var set = part, minimum = 1, maximum = 1
            if case let .repeated(inner, min, max) = part {
                set = inner; minimum = min; maximum = max ?? Int.max
            }
            guard case let .set(ranges, negated) = set, !negated, !ranges.isEmpty,
                  ranges.allSatisfy({ $0.upperBound < 128 }) else { return nil }
            var piece = Piece(minimum: minimum, maximum: maximum)
            for r in ranges {
                for b in r { if b < 64 { piece.low |= 1 << UInt64(b) } else { piece.high |= 1 << UInt64(b - 64) } }
            }
            pieces.append(piece)
        }
        guard !pieces.isEmpty, pieces.dropLast().allSatisfy({ $0.minimum == $0.maximum }) else { return nil }
        self.pieces = pieces
    }

    /// Whole match, in one pass over the bytes: each piece but the last takes exactly its count, the last the rest.
    @inlinable
    func matches(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        pieces.withUnsafeBufferPointer { pieces in
            let last = pieces.count - 1
            var i = 0
            for k in 0..<last {
                let p = pieces[k]
                guard b.count - i >= p.minimum, p.allowsAll(b, from: i, to: i + p.minimum) else { return false }
                i += p.minimum
            }
            let p = pieces[last]
            let count = b.count - i
            return count >= p.minimum && count <= p.maximum && p.allowsAll(b, from: i, to: b.count)
        }
    }
}

private struct ProgramBuilder {
    var program: [Pattern.Instruction] = []

    mutating func append(_ i: Pattern.Instruction) { program.append(i) }

    mutating func check() throws(Pattern.SyntaxError) {
        if program.count > Pattern.maximumProgram {
            throw Pattern.SyntaxError(offset: 0, message: "正则表达式展开后过大（重复次数太多），请简化 (pattern too large once its repetitions are expanded)")
        }
    }

    mutating func emit(_ node: Pattern.Node) throws(Pattern.SyntaxError) {
        try check()
        switch node {
        case .empty: break
        case .any: append(.any)
        case .start: append(.assertStart)
        case .end: append(.assertEnd)
        case let .set(ranges, negated): append(.match(ranges: ranges, negated: negated))
        case .concat(let parts): for p in parts { try emit(p) }
        case .alternate(let options):
            // split L1, next; L1: a; jump end; next: split L2, … ; last: z; end:
            var jumps: [Int] = []
            for (i, option) in options.enumerated() {
                if i < options.count - 1 {
                    let split = program.count
                    append(.split(split + 1, -1))
                    try emit(option)
                    jumps.append(program.count)
                    append(.jump(-1))
                    program[split] = .split(split + 1, program.count)
                } else {
                    try emit(option)
                }
            }
            for j in jumps { program[j] = .jump(program.count) }
        case let .repeated(inner, min, max):
            for _ in 0..<min { try emit(inner) }
            if let max {
                // Optional copies: split into the copy or past all of them.
                var splits: [Int] = []
                for _ in min..<max {
                    splits.append(program.count)
                    append(.split(program.count + 1, -1))
                    try emit(inner)
                }
                for s in splits { program[s] = .split(s + 1, program.count) }
            } else {
                let loop = program.count
                append(.split(loop + 1, -1))
                try emit(inner)
                append(.jump(loop))
                program[loop] = .split(loop + 1, program.count)
            }
        }
    }
}

private struct PatternParser {
    let s: [Unicode.Scalar]
    var i = 0
    var depth = 0

    init(_ s: [Unicode.Scalar]) { self.s = s }

    func fail(_ message: String, at offset: Int? = nil) -> Pattern.SyntaxError {
        Pattern.SyntaxError(offset: offset ?? i, message: message)
    }

    mutating func parseAll() throws(Pattern.SyntaxError) -> Pattern.Node {
        let node = try alternation()
        if i < s.count { throw fail("多余的 `)` (unbalanced `)`)") }
        return node
    }

    mutating func alternation() throws(Pattern.SyntaxError) -> Pattern.Node {
        var options = [try sequence()]
        while i < s.count && s[i] == "|" {
            i += 1
            options.append(try sequence())
        }
        return options.count == 1 ? options[0] : .alternate(options)
    }

    mutating func sequence() throws(Pattern.SyntaxError) -> Pattern.Node {
        var parts: [Pattern.Node] = []
        while i < s.count && s[i] != "|" && s[i] != ")" {
            var atom = try self.atom()
            atom = try quantified(atom)
            parts.append(atom)
        }
        return parts.count == 1 ? parts[0] : .concat(parts)
    }

    mutating func quantified(_ atom: Pattern.Node) throws(Pattern.SyntaxError) -> Pattern.Node {
        guard i < s.count else { return atom }
        let at = i
        var bounds: (Int, Int?)
        switch s[i] {
        case "*": bounds = (0, nil); i += 1
        case "+": bounds = (1, nil); i += 1
        case "?": bounds = (0, 1); i += 1
        case "{":
            guard let b = try counted() else { return atom }
            bounds = b
        default: return atom
        }
        if case .start = atom { throw fail("`^` 不能重复 (`^` cannot repeat)", at: at) }
        if case .end = atom { throw fail("`$` 不能重复 (`$` cannot repeat)", at: at) }
        if i < s.count && s[i] == "?" { i += 1 } // lazy: the same for a whole match
        else if i < s.count && s[i] == "+" { throw fail("不支持占有量词 `\(s[at])+` (possessive quantifiers are not supported)") }
        if i < s.count && ["*", "+", "?"].contains(s[i]) { throw fail("量词重复 (a quantifier after a quantifier)") }
        return .repeated(atom, min: bounds.0, max: bounds.1)
    }

    /// `{n}`, `{n,}`, `{n,m}`; nil (and the brace read as a literal) when it is not one.
    mutating func counted() throws(Pattern.SyntaxError) -> (Int, Int?)? {
        let start = i
        var j = i + 1
        func number() -> Int? {
            var n = 0, digits = 0
            while j < s.count, let d = s[j].properties.numericType == .decimal && s[j].isASCII ? Int(s[j].value - 48) : nil {
                n = min(n * 10 + d, 1_000_000); digits += 1; j += 1
            }
            return digits > 0 ? n : nil
        }
        guard let low = number() else { return nil }
        var high: Int? = low
        if j < s.count && s[j] == "," {
            j += 1
            high = number()
        }
        guard j < s.count && s[j] == "}" else { return nil }
        i = j + 1
        if let high, high < low { throw fail("重复次数 {\(low),\(high)} 的上限小于下限 (max below min)", at: start) }
        if low > 1000 || (high ?? 0) > 1000 { throw fail("重复次数超过 1000 (repetition count above 1000)", at: start) }
        return (low, high)
    }

    mutating func atom() throws(Pattern.SyntaxError) -> Pattern.Node {
        let c = s[i]
        switch c {
        case "(":
            let at = i
            i += 1
            if i < s.count && s[i] == "?" {
                if i + 1 < s.count && s[i + 1] == ":" {
                    i += 2
                } else if i + 1 < s.count && s[i + 1] == "<" && i + 2 < s.count && s[i + 2] != "=" && s[i + 2] != "!" {
                    // A named group: matched as a plain group.
                    guard let close = s[i...].firstIndex(of: ">") else { throw fail("组名缺少 `>` (unterminated group name)", at: at) }
                    i = close + 1
                } else if i + 1 < s.count && ["=", "!", "<"].contains(s[i + 1]) {
                    throw fail("不支持前瞻或后顾断言 (lookaround cannot be matched in linear time; not supported)", at: at)
                } else {
                    throw fail("不支持内联选项如 (?i)、(?x) (inline flags are not supported)", at: at)
                }
            }
            depth += 1
            if depth > 100 { throw fail("括号嵌套过深 (groups nested too deep)", at: at) }
            let inner = try alternation()
            depth -= 1
            guard i < s.count && s[i] == ")" else { throw fail("缺少 `)` (unbalanced `(`)", at: at) }
            i += 1
            return inner
        case ")": throw fail("多余的 `)` (unbalanced `)`)")
        case "*", "+", "?": throw fail("量词 `\(c)` 前面没有可重复的内容 (nothing to repeat)")
        case "[": return try characterClass()
        case ".": i += 1; return .any
        case "^": i += 1; return .start
        case "$": i += 1; return .end
        case "\\":
            let ranges = try escape(inClass: false)
            return .set(ranges: ranges.ranges, negated: ranges.negated)
        default:
            i += 1
            return .set(ranges: [c.value...c.value], negated: false)
        }
    }

    static let digit: [ClosedRange<UInt32>] = [0x30...0x39]
    static let word: [ClosedRange<UInt32>] = [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A]
    static let space: [ClosedRange<UInt32>] = [0x09...0x0D, 0x20...0x20, 0xA0...0xA0, 0x3000...0x3000]

    /// An escape after `\`: a set of ranges, negated for `\D \W \S`.
    mutating func escape(inClass: Bool) throws(Pattern.SyntaxError) -> (ranges: [ClosedRange<UInt32>], negated: Bool) {
        let at = i
        i += 1
        guard i < s.count else { throw fail("结尾多了一个 `\\` (trailing backslash)", at: at) }
        let c = s[i]
        i += 1
        switch c {
        case "d": return (Self.digit, false)
        case "D": return (Self.digit, true)
        case "w": return (Self.word, false)
        case "W": return (Self.word, true)
        case "s": return (Self.space, false)
        case "S": return (Self.space, true)
        case "t": return ([0x09...0x09], false)
        case "n": return ([0x0A...0x0A], false)
        case "r": return ([0x0D...0x0D], false)
        case "u":
            guard i + 4 <= s.count, let v = UInt32(String(String.UnicodeScalarView(s[i..<i + 4])), radix: 16) else {
                throw fail("`\\u` 之后应为四位十六进制数 (expected four hex digits after \\u)", at: at)
            }
            i += 4
            return ([v...v], false)
        case "1"..."9":
            throw fail("不支持反向引用 `\\\(c)`，它无法在线性时间内匹配 (backreferences cannot be matched in linear time; not supported)", at: at)
        case "b", "B", "A", "z", "Z", "G":
            throw fail("不支持 `\\\(c)` (not supported)", at: at)
        default:
            if c.properties.isAlphabetic || c.properties.numericType != nil {
                throw fail("不认识的转义 `\\\(c)` (unknown escape)", at: at)
            }
            return ([c.value...c.value], false)
        }
    }

    mutating func characterClass() throws(Pattern.SyntaxError) -> Pattern.Node {
        let at = i
        i += 1
        var negated = false
        if i < s.count && s[i] == "^" { negated = true; i += 1 }
        var ranges: [ClosedRange<UInt32>] = []
        var first = true
        while true {
            guard i < s.count else { throw fail("缺少 `]` (unterminated character class)", at: at) }
            let c = s[i]
            if c == "]" && !first { i += 1; break }
            first = false
            var low: UInt32
            if c == "\\" {
                let e = try escape(inClass: true)
                if e.negated || e.ranges.count != 1 || e.ranges[0].count != 1 {
                    if e.negated { throw fail("方括号内不支持 \\D、\\W、\\S (negated classes inside brackets are not supported)", at: i - 2) }
                    ranges += e.ranges
                    continue
                }
                low = e.ranges[0].lowerBound
            } else if c == "[" && i + 1 < s.count && s[i + 1] == ":" {
                throw fail("不支持 POSIX 字符类 [:alpha:] (POSIX classes are not supported)")
            } else {
                low = c.value
                i += 1
            }
            if i + 1 < s.count && s[i] == "-" && s[i + 1] != "]" {
                i += 1
                var high: UInt32
                if s[i] == "\\" {
                    let e = try escape(inClass: true)
                    guard !e.negated, e.ranges.count == 1, e.ranges[0].count == 1 else { throw fail("范围的终点应为单个字符 (a range must end in one character)") }
                    high = e.ranges[0].lowerBound
                } else {
                    high = s[i].value
                    i += 1
                }
                guard low <= high else { throw fail("范围 \(low)-\(high) 颠倒 (range out of order)", at: at) }
                ranges.append(low...high)
            } else {
                ranges.append(low...low)
            }
        }
        return .set(ranges: ranges, negated: negated)
    }
}
