// Rules: the rule language's lexer and parser (the syntax tree is in SchoolStatModel).
//
// Grammar (lowest precedence first):
//   expr     := 'if' expr 'then' expr 'else' expr | or
//   or       := and ('or' and)*
//   and      := not ('and' not)*
//   not      := 'not' not | compare
//   compare  := sum ( ('=='|'!='|'<'|'<='|'>'|'>=') sum
//                   | ['not'] 'in' '[' expr (',' expr)* ']'
//                   | 'between' sum 'and' sum
//                   | 'is' ['not'] 'missing' )?
//   sum      := product (('+'|'-') product)*
//   product  := unary (('*'|'/') unary)*
//   unary    := '-' unary | primary
//   primary  := NUMBER | STRING | 'true' | 'false' | 'missing' | '$'NAME
//             | NAME | NAME '(' [expr (',' expr)*] ')' | '(' expr ')'
import SchoolStatModel
import SchoolStatBytes

public enum Token: Equatable {
    case number(FixedDecimal)
    case string(String)
    case name(String)
    case parameter(String)
    case symbol(String)
    case end
}

public struct ExpressionSyntaxError: Error {
    public init(offset: Int, message: String) {
        self.offset = offset; self.message = message
    }

    public var offset: Int
    public var message: String
}

/// Turns expression text into tokens with their character offsets.
public struct ExpressionLexer {
    /// Offsets count characters (`Character`s), as error messages show them. A character that is
    /// one ASCII byte is classified by that byte; any other goes through `Character`'s own tests
    /// (letters and digits of any script name columns; CRLF, one character, is none of them).
    public static func tokenize(_ text: String) throws(ExpressionSyntaxError) -> [(Token, Int)] {
        // The characters, and where each starts in the text: a token's text is cut from the
        // text itself (building a `String` from `Character`s one by one cost more than the rest).
        var chars: [Character] = []
        var starts: [String.Index] = []
        var index = text.startIndex
        while index < text.endIndex {
            chars.append(text[index])
            starts.append(index)
            index = text.index(after: index)
        }
        starts.append(text.endIndex)
        @inline(__always) func piece(_ from: Int, _ to: Int) -> String { String(text[starts[from]..<starts[to]]) }
        var tokens: [(Token, Int)] = []
        /// The character's byte when it is one ASCII byte.
        @inline(__always) func ascii(_ c: Character) -> UInt8? {
            let utf8 = c.utf8
            guard utf8.count == 1, let b = utf8.first, b < 0x80 else { return nil }
            return b
        }
        @inline(__always) func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        @inline(__always) func isLetter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }
        /// A character a name may continue with: a letter or digit of any script, `_` or `.`.
        @inline(__always) func continuesName(_ c: Character) -> Bool {
            if let b = ascii(c) { return isLetter(b) || isDigit(b) || b == 0x5F || b == 0x2E }
            return c.isLetter || c.isNumber
        }
        var i = 0
        while i < chars.count {
            let c = chars[i]
            let b = ascii(c)
            if let b, b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { i += 1; continue }
            let start = i
            if let b, isDigit(b) {
                while i < chars.count, let d = ascii(chars[i]), isDigit(d) || d == 0x2E { i += 1 }
                let literal = piece(start, i)
                guard let d = NumberText.parsePlainDecimal(literal) else {
                    throw ExpressionSyntaxError(offset: start, message: "`\(literal)` 不是有效数字 (not a valid number)")
                }
                tokens.append((.number(d), start))
            } else if b == 0x27 || b == 0x22 {
                i += 1
                while i < chars.count && chars[i] != c { i += 1 }
                guard i < chars.count else {
                    throw ExpressionSyntaxError(offset: start, message: "字符串缺少结束引号 \(c) (unterminated string)")
                }
                tokens.append((.string(piece(start + 1, i)), start))
                i += 1
            } else if b == 0x24 || b == 0x5F || b.map(isLetter) ?? c.isLetter {
                i += 1
                while i < chars.count && continuesName(chars[i]) { i += 1 }
                let word = piece(b == 0x24 ? start + 1 : start, i)
                if b == 0x24 {
                    guard !word.isEmpty else { throw ExpressionSyntaxError(offset: start, message: "`$` 后应为参数名 (expected a parameter name after $)") }
                    tokens.append((.parameter(word), start))
                } else {
                    tokens.append((.name(word), start))
                }
            } else {
                let next = i + 1 < chars.count ? ascii(chars[i + 1]) : nil
                switch (b, next) {
                case (0x3D, 0x3D): tokens.append((.symbol("=="), start)); i += 2
                case (0x21, 0x3D): tokens.append((.symbol("!="), start)); i += 2
                case (0x3C, 0x3D): tokens.append((.symbol("<="), start)); i += 2
                case (0x3E, 0x3D): tokens.append((.symbol(">="), start)); i += 2
                case (0x2B, _), (0x2D, _), (0x2A, _), (0x2F, _), (0x28, _), (0x29, _), (0x5B, _), (0x5D, _), (0x2C, _), (0x3C, _), (0x3E, _):
                    tokens.append((.symbol(String(c)), start)); i += 1
                case (0x3D, _):
                    throw ExpressionSyntaxError(offset: start, message: "比较相等请写 `==` (use == to compare)")
                default:
                    throw ExpressionSyntaxError(offset: start, message: "无法识别的字符 `\(c)` (unexpected character)")
                }
            }
        }
        tokens.append((.end, chars.count))
        return tokens
    }
}

/// Recursive-descent parser for the grammar above.
///
/// A rule file is edited by hand and may be hostile: an expression longer than `maximumTokens`
/// or nested deeper than `maximumDepth` (parentheses, unary operators, a chain of one operator)
/// is refused with its offset, so that neither this parser nor the compiler and evaluator that
/// walk the tree recursively can run out of stack.
public struct ExpressionParser {
    public static let maximumTokens = 10_000
    public static let maximumDepth = 200
    private var tokens: [(Token, Int)]
    private var position = 0
    private var depth = 0

    public static func parse(_ text: String) throws(ExpressionSyntaxError) -> ExpressionNode {
        if text.utf8.count > maximumTokens * 16 {
            throw ExpressionSyntaxError(offset: 0, message: "表达式过长（\(text.utf8.count) 字节）；请拆成几个派生值 (derived) 分步计算。 (expression too long; split it into derived values)")
        }
        let tokens = try ExpressionLexer.tokenize(text)
        if tokens.count > maximumTokens {
            throw ExpressionSyntaxError(offset: tokens[maximumTokens].1,
                                        message: "表达式过长（超过 \(maximumTokens) 个记号）；请拆成几个派生值 (derived) 分步计算。 (expression longer than \(maximumTokens) tokens; split it into derived values)")
        }
        var parser = ExpressionParser(tokens: tokens)
        let node = try parser.expression()
        guard case .end = parser.peek else {
            throw ExpressionSyntaxError(offset: parser.offset, message: "表达式在此处多出内容 \(parser.describe(parser.peek)) (unexpected \(parser.describe(parser.peek)))")
        }
        return node
    }

    private init(tokens: [(Token, Int)]) { self.tokens = tokens }

    /// One level deeper in the tree being built; refused past `maximumDepth`.
    private mutating func descend() throws(ExpressionSyntaxError) {
        depth += 1
        guard depth <= Self.maximumDepth else {
            throw ExpressionSyntaxError(offset: offset, message: "表达式嵌套过深（超过 \(Self.maximumDepth) 层括号、运算或函数）；请拆成几个派生值 (derived) 分步计算。 (expression nested deeper than \(Self.maximumDepth) levels; split it into derived values)")
        }
    }

    private var peek: Token { tokens[position].0 }
    private var offset: Int { tokens[position].1 }
    private mutating func advance() { if position < tokens.count - 1 { position += 1 } }

    private func isKeyword(_ word: String) -> Bool {
        if case .name(let n) = peek { return n == word } else { return false }
    }

    private func isSymbol(_ s: String) -> Bool {
        if case .symbol(let x) = peek { return x == s } else { return false }
    }

    private func describe(_ t: Token) -> String {
        switch t {
        case .number(let d): return "`\(d)`"
        case .string(let s): return "'\(s)'"
        case .name(let n): return "`\(n)`"
        case .parameter(let p): return "`$\(p)`"
        case .symbol(let s): return "`\(s)`"
        case .end: return "结尾 (end of expression)"
        }
    }

    private mutating func expect(_ symbol: String) throws(ExpressionSyntaxError) {
        guard isSymbol(symbol) else {
            throw ExpressionSyntaxError(offset: offset, message: "此处应为 `\(symbol)`，实际为 \(describe(peek)) (expected `\(symbol)`)")
        }
        advance()
    }

    private mutating func expectKeyword(_ word: String) throws(ExpressionSyntaxError) {
        guard isKeyword(word) else {
            throw ExpressionSyntaxError(offset: offset, message: "此处应为 `\(word)`，实际为 \(describe(peek)) (expected `\(word)`)")
        }
        advance()
    }

    private mutating func expression() throws(ExpressionSyntaxError) -> ExpressionNode {
        try descend()
        defer { depth -= 1 }
        if isKeyword("if") {
            let at = offset
            advance()
            let condition = try expression()
            try expectKeyword("then")
            let whenTrue = try expression()
            try expectKeyword("else")
            let whenFalse = try expression()
            return .conditional(condition, whenTrue, whenFalse, offset: at)
        }
        return try disjunction()
    }

    private mutating func disjunction() throws(ExpressionSyntaxError) -> ExpressionNode {
        let level = depth
        defer { depth = level }
        var left = try conjunction()
        while isKeyword("or") {
            try descend()
            let at = offset
            advance()
            left = .binary(.or, left, try conjunction(), offset: at)
        }
        return left
    }

    private mutating func conjunction() throws(ExpressionSyntaxError) -> ExpressionNode {
        let level = depth
        defer { depth = level }
        var left = try negation()
        while isKeyword("and") {
            try descend()
            let at = offset
            advance()
            left = .binary(.and, left, try negation(), offset: at)
        }
        return left
    }

    private mutating func negation() throws(ExpressionSyntaxError) -> ExpressionNode {
        if isKeyword("not") {
            let at = offset
            try descend()
            defer { depth -= 1 }
            advance()
            return .not(try negation(), offset: at)
        }
        return try comparison()
    }

    private mutating func comparison() throws(ExpressionSyntaxError) -> ExpressionNode {
        let left = try sum()
        let at = offset
        for op in [BinaryOperator.equal, .notEqual, .lessOrEqual, .greaterOrEqual, .less, .greater] where isSymbol(op.rawValue) {
            advance()
            return .binary(op, left, try sum(), offset: at)
        }
        var negated = false
        if isKeyword("not") {
            advance()
            negated = true
            guard isKeyword("in") else {
                throw ExpressionSyntaxError(offset: offset, message: "`not` 之后应为 `in` (expected `in` after `not`)")
            }
        }
        if isKeyword("in") {
            advance()
            try expect("[")
            var items: [ExpressionNode] = []
            if !isSymbol("]") {
                items.append(try expression())
                while isSymbol(",") { advance(); items.append(try expression()) }
            }
            try expect("]")
            return .membership(left, items, negated: negated, offset: at)
        }
        if isKeyword("between") {
            advance()
            let low = try sum()
            try expectKeyword("and")
            let high = try sum()
            return .between(left, low, high, offset: at)
        }
        if isKeyword("is") {
            advance()
            var negated = false
            if isKeyword("not") { advance(); negated = true }
            try expectKeyword("missing")
            return .isMissing(left, negated: negated, offset: at)
        }
        return left
    }

    private mutating func sum() throws(ExpressionSyntaxError) -> ExpressionNode {
        let level = depth
        defer { depth = level }
        var left = try product()
        while isSymbol("+") || isSymbol("-") {
            try descend()
            let op: BinaryOperator = isSymbol("+") ? .add : .subtract
            let at = offset
            advance()
            left = .binary(op, left, try product(), offset: at)
        }
        return left
    }

    private mutating func product() throws(ExpressionSyntaxError) -> ExpressionNode {
        let level = depth
        defer { depth = level }
        var left = try unary()
        while isSymbol("*") || isSymbol("/") {
            try descend()
            let op: BinaryOperator = isSymbol("*") ? .multiply : .divide
            let at = offset
            advance()
            left = .binary(op, left, try unary(), offset: at)
        }
        return left
    }

    private mutating func unary() throws(ExpressionSyntaxError) -> ExpressionNode {
        if isSymbol("-") {
            let at = offset
            try descend()
            defer { depth -= 1 }
            advance()
            return .negate(try unary(), offset: at)
        }
        return try primary()
    }

    private static let reserved: Set<String> = ["and", "or", "not", "in", "between", "is", "if", "then", "else"]

    private mutating func primary() throws(ExpressionSyntaxError) -> ExpressionNode {
        let at = offset
        switch peek {
        case .number(let d):
            advance()
            return .literal(d.exponent >= 0 ? .integer(d.mantissa) : .decimal(d), offset: at)
        case .string(let s):
            advance()
            return .literal(.text(s), offset: at)
        case .parameter(let p):
            advance()
            return .parameter(p, offset: at)
        case .name(let n):
            if n == "true" || n == "false" { advance(); return .literal(.boolean(n == "true"), offset: at) }
            if n == "missing" { advance(); return .literal(.missing, offset: at) }
            if Self.reserved.contains(n) {
                throw ExpressionSyntaxError(offset: at, message: "此处应为值，却是关键字 `\(n)` (expected a value, found keyword `\(n)`)")
            }
            advance()
            if isSymbol("(") {
                advance()
                var args: [ExpressionNode] = []
                if !isSymbol(")") {
                    args.append(try expression())
                    while isSymbol(",") { advance(); args.append(try expression()) }
                }
                try expect(")")
                return .call(n, args, offset: at)
            }
            return .column(n, offset: at)
        case .symbol("("):
            advance()
            let inner = try expression()
            try expect(")")
            return inner
        default:
            throw ExpressionSyntaxError(offset: at, message: "此处应为值，实际为 \(describe(peek)) (expected a value, found \(describe(peek)))")
        }
    }
}
