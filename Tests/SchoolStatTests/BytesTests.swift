import Foundation
import Testing
import SchoolStatModel
import SchoolStatBytes
import SchoolStatPipeline

/// The hand-managed memory of SchoolStatBytes, tested on its own: what goes in comes out, in
/// order, whatever the growth, and what is left is released.
@Suite("Row blocks and duplicate lookups")
struct BytesTests {
    private static func row(_ n: Int, width: Int) -> [Value] {
        (0..<width).map { c in
            switch c % 4 {
            case 0: return .integer(Int64(n * 10 + c))
            // Heap strings (longer than the inline 15 bytes): a wrong move would double-free or leak them.
            case 1: return .text("第 \(n) 行第 \(c) 列的一段不短的文字")
            case 2: return n % 3 == 0 ? .missing : .decimal(FixedDecimal(mantissa: Int64(n), exponent: -2))
            default: return .date(Day(year: 2000 + n % 20, month: 1 + n % 12, day: 1)!)
            }
        }
    }

    @Test("the run's own working files are named without digits: no path of its own is masked as an ID number where it is shown")
    func uniqueNames() {
        let names = (0..<200).map { _ in UniqueName.make() }
        #expect(Set(names).count == 200)
        for name in names {
            #expect(!name.unicodeScalars.contains { $0.value >= 0x30 && $0.value <= 0x39 }, "\(name)")
            #expect(IDNumber.scrub("/tmp/schoolstat-upload-" + name) == "/tmp/schoolstat-upload-" + name)
        }
    }

    @Test("a row block gives back every row in order through several growths, and moves values out of the source")
    func rowBlockRoundTrip() {
        let width = 7
        let block = RowBlock(width: width, rows: 2)
        for n in 0..<1000 {
            var values = Self.row(n, width: width)
            block.append(movingFrom: &values, line: n + 2)
            #expect(values.allSatisfy { $0.isMissing }, "row \(n): the source keeps nothing")
        }
        #expect(block.lines == Array(2..<1002))
        var target = Array(repeating: Value.missing, count: width)
        for n in 0..<1000 {
            block.takeNext(into: &target)
            #expect(target == Self.row(n, width: width), "row \(n)")
        }
    }

    @Test("a row block with chosen columns keeps only those; one dropped half taken releases the rest")
    func rowBlockColumnsAndPartialTake() {
        let width = 6
        let block = RowBlock(width: width, rows: 1)
        for n in 0..<300 {
            var values = Self.row(n, width: width)
            block.append(movingFrom: &values, columns: [1, 4], line: n)
            #expect(values[1].isMissing && values[4].isMissing)
            #expect(values[0] == Self.row(n, width: width)[0], "columns not chosen stay where they were")
        }
        var target = Array(repeating: Value.missing, count: width)
        for n in 0..<150 {
            block.takeNext(into: &target)
            let full = Self.row(n, width: width)
            #expect(target == (0..<width).map { [1, 4].contains($0) ? full[$0] : .missing }, "row \(n)")
        }
        // The 150 rows not taken are released when the block goes (run under valgrind or ASan to see it).
    }

    @Test("duplicate rows found through sorted runs on disk agree with a plain dictionary, for skipped and visited records")
    func duplicateRowsAgreeWithDictionary() throws {
        var rng = SeededGenerator(seed: 42)
        let dir = TestSupport.temporaryDirectory()
        let constraints = 3, files: [Int32] = [0, 1, 2], records: Int32 = 6000
        var expected: [Int32: [Int32: [Int: DuplicateEntry]]] = [:]  // file → record → constraint → entry
        var found: DuplicateFiles = []
        for c in 0..<constraints {
            // Small runs, so that the sorter spills and merges many.
            let sorter = DuplicateSorter(directory: dir, name: "c\(c)", runCapacity: 97)
            // Constraint 2 has no repeats in file 1: its lookups must skip every record.
            for file in files where !(c == 2 && file == 1) {
                for record in 0..<records where Int.random(in: 0..<100, using: &rng) < (c == 0 ? 30 : 3) {
                    let e = DuplicateEntry(file: file, record: record, firstFile: Int32.random(in: 0...file, using: &rng),
                                           firstLine: Int32.random(in: 1..<records, using: &rng))
                    expected[file, default: [:]][record, default: [:]][c] = e
                    sorter.add(e)
                }
            }
            found.append(try sorter.finish())
        }
        for file in files {
            let rows = DuplicateRows(found, file: file)
            defer { rows.deallocate() }
            var record: Int32 = 0
            var visited = 0
            while record < records {
                var got: [Int: DuplicateOf] = [:]
                var order: [Int] = []
                rows.forEach(record: record) { c, first in got[c] = first; order.append(c) }
                let want = expected[file]?[record] ?? [:]
                #expect(Set(got.keys) == Set(want.keys), "file \(file) record \(record)")
                #expect(order == order.sorted(), "constraints in the schema's order")
                for (c, e) in want {
                    #expect(got[c]?.file == e.firstFile && got[c]?.line == e.firstLine, "file \(file) record \(record) constraint \(c)")
                }
                visited += 1
                // A worker sees its records in increasing order, not all of them.
                record += Int32.random(in: 1...3, using: &rng)
            }
            #expect(visited > 1000)
        }
    }

    @Test("text from the data is escaped for a page: every markup character, nothing else")
    func htmlText() {
        #expect(HTMLText.escape("<script>alert('x')</script> & \"引号\"") == "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;引号&quot;")
        #expect(HTMLText.escape("万盛经开区第一小学 3150010001") == "万盛经开区第一小学 3150010001")
        #expect(HTMLText.escape("&amp;") == "&amp;amp;")
    }
}
