import Foundation
import Testing
import CSupport
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline
import SchoolStatReporting

/// A batch's entries as text: line, lines spanned, ordinal and every field; blank lines by line.
private func describe(_ batch: RecordBatch) -> [String] {
    batch.items.map { item in
        switch item {
        case .blankLine(let line): return "blank \(line)"
        case .record(let r):
            return "\(r.line)+\(r.lineCount) #\(r.ordinal): " + (0..<r.fieldCount).map { r.lossyString($0) }.joined(separator: "|")
        }
    }
}

/// Writes `damaged` as a spill at `path` and reads it to the end, every field of every record
/// looked at: true when it reads through, false when it is refused (never a crash).
private func readsThrough(_ damaged: Data, at path: String, text: BatchSpill.Text? = nil) -> Bool {
    _ = FileManager.default.createFile(atPath: path, contents: damaged)
    do {
        let spill = try BatchSpill.Reader(path: path, source: "rows.csv", text: text)
        while let batch = try spill.next() {
            batch.forEachRecord({ r in for f in 0..<r.fieldCount { _ = r.lossyString(f) } }, blankLine: { _ in })
        }
        return true
    } catch {
        return false
    }
}

/// Feeds bytes through the transcoder and libcsv in chunks of a given size.
private func parse(_ bytes: [UInt8], encoding: TextEncoding = .utf8, delimiter: UInt8 = 0x2C, chunk: Int,
                   looksAtChunks: Bool = true) throws -> (rows: [ReferenceCSV.Row], blank: [Int]) {
    var rows: [ReferenceCSV.Row] = []
    var blank: [Int] = []
    let parser = CSVRecordParser(delimiter: delimiter, looksAtChunks: looksAtChunks) { event in
        switch event {
        case .record(let r): rows.append(ReferenceCSV.Row(line: r.line, fields: (0..<r.fieldCount).map { r.lossyString($0) }))
        case .blankLine(let l): blank.append(l)
        }
    }
    var transcoder = try Transcoder(encoding: encoding)
    var start = 0
    while start < bytes.count {
        let end = min(bytes.count, start + chunk)
        let slice = Array(bytes[start..<end])
        try slice.withUnsafeBytes { raw in
            var failure: ReadError?
            transcoder.convert(raw, final: end == bytes.count) { utf8 in
                do throws(ReadError) { try parser.feed(utf8) } catch { failure = error }
            }
            if let failure { throw failure }
        }
        start = end
    }
    parser.finish()
    transcoder.close()
    return (rows, blank)
}

private func bytes(_ name: String) -> [UInt8] {
    [UInt8](FileManager.default.contents(atPath: TestSupport.fixture("reading/" + name))!)
}

@Suite("Reading CSV through libcsv")
struct ReadingTests {
    static let chunkSizes = [1, 2, 3, 4, 5, 7, 13, 64, 1 << 16]

    @Test("every chunk split gives the reference reader's records and line numbers",
          arguments: ["quoted_fields_crlf.csv", "cr_only.csv", "no_final_newline.csv", "blank_and_repeated_header.csv",
                      "ragged_rows.csv", "encoding_utf8.csv", "duplicate_and_unknown_headers.csv"])
    func chunkBoundaries(file: String) throws {
        let data = bytes(file)
        let expected = ReferenceCSV.parse(data, delimiter: 0x2C).filter { !$0.fields.allSatisfy(\.isEmpty) || $0.fields.count > 1 }
        for size in Self.chunkSizes {
            let got = try parse(data, chunk: size).rows
            #expect(got == expected, "chunk size \(size)")
        }
    }

    @Test("chunks parsed without libcsv's space test of every character give the same records, lines and blank lines",
          arguments: [51, 52, 53])
    func chunkShortcuts(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        // Spaces and tabs next to delimiters, quotes and line ends and away from them; quoted line ends.
        let pieces = ["a", "7", "张", " ", "\t", "  ", "x y", ",", ",,", "\"", "\"\"", "\"q, r\"", "\" s \"", "\n", "\r\n", "\r", "\"l1\nl2\""]
        var shortcutTaken = 0
        for _ in 0..<1500 {
            let text = (0..<Int.random(in: 1...40, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            let data = Array(text.utf8)
            let chunk = Int.random(in: 1...48, using: &rng)
            let delimiter: UInt8 = Bool.random(using: &rng) ? 0x2C : 0x3B
            let fast = try parse(data, delimiter: delimiter, chunk: chunk)
            let slow = try parse(data, delimiter: delimiter, chunk: chunk, looksAtChunks: false)
            #expect(fast.rows == slow.rows && fast.blank == slow.blank, "\(text.debugDescription) chunk \(chunk)")
            if schoolstat_csv_spaces_may_be_trimmed(data, min(chunk, data.count), delimiter) == 0 && text.contains(" ") { shortcutTaken += 1 }
        }
        #expect(shortcutTaken > 100) // chunks with spaces libcsv keeps anyway were parsed without the test often enough
    }

    @Test("a quoted line break makes record and line numbers differ")
    func quotedNewlinesKeepPhysicalLines() throws {
        let rows = try parse(bytes("quoted_fields_crlf.csv"), chunk: 3).rows
        #expect(rows.map(\.line) == [1, 2, 3, 5, 8])
        #expect(rows[1].fields == ["1", "x, y", "say \"hi\""])
        #expect(rows[2].fields == ["2", "line one\r\nline two", "z"])
        #expect(rows[4].fields == ["4", "plain", "last"])
    }

    @Test("blank lines are reported with their line numbers, CR LF pairs are one line end")
    func blankLines() throws {
        let crlf = Array("a,b\r\n\r\n1,2\r\n\r\n\r\n3,4\r\n".utf8)
        let result = try parse(crlf, chunk: 1)
        #expect(result.blank == [2, 4, 5])
        #expect(result.rows.map(\.line) == [1, 3, 6])
        let cr = try parse(bytes("cr_only.csv"), chunk: 2)
        #expect(cr.rows.map(\.line) == [1, 2, 3])
        #expect(cr.rows.last?.fields == ["3", "4"])
    }

    @Test("batches hand over every kept record and blank line in order, with their fields and lines, the last batch partial")
    func batches() throws {
        let path = TestSupport.temporaryDirectory() + "/rows.csv"
        var text = "id,name\n"
        for i in 1...10 { text += i % 4 == 0 ? "\n" : "\(i),\"n \(i)\nmore\"\n" }
        TestSupport.write(text, to: path)
        var plain = try TableFileReader(path: path)
        var expected: [String] = []
        try plain.read { event in
            switch event {
            case .blankLine(let line): expected.append("blank \(line)")
            case .record(let r) where r.ordinal > 1: expected.append("\(r.line): \(r.string(0)!)|\(r.string(1)!)")
            case .record: break
            }
        }
        var batched = try TableFileReader(path: path)
        var got: [String] = []
        var sizes: [Int] = []
        try batched.readBatches(of: 3, keeping: { entry in
            entry.isBlankLine || entry.ordinal > 1
        }) { batch in
            sizes.append(batch.count)
            for item in batch.items {
                switch item {
                case .blankLine(let line): got.append("blank \(line)")
                case .record(let r): got.append("\(r.line): \(r.string(0)!)|\(r.string(1)!)")
                }
            }
        }
        #expect(expected.count == 10)
        #expect(got == expected)
        #expect(sizes == [3, 3, 3, 1])
    }

    @Test("batches kept on disk read back as they were: lines, spans, ordinals, blank lines, every field's bytes")
    func spilledBatches() throws {
        let dir = TestSupport.temporaryDirectory()
        let path = dir + "/rows.csv"
        // Quoted line breaks, empty and long fields, Chinese, blank lines, a last record without a line end.
        var text = "编号,姓名,备注\n"
        for i in 1...2_500 {
            switch i % 7 {
            case 0: text += "\n"
            case 1: text += "\(i),\"张\n三\",\"\(String(repeating: "长", count: i % 300))\"\n"
            case 2: text += "\(i),,\n"
            default: text += "\(i),李四,\(i * 31)\r\n"
            }
        }
        text += "last,尾,无换行"
        TestSupport.write(text, to: path)
        var reader = try TableFileReader(path: path)
        var written: [[String]] = []
        // Every batch with its bytes: what is stored here is what the checks below damage.
        let writer = try #require(BatchSpill.Writer(path: dir + "/rows.batches", storesText: true))
        try reader.readBatches(of: 100, keeping: { $0.isBlankLine || $0.ordinal > 1 }) { batch in
            writer.write(batch)
            written.append(describe(batch))
        }
        #expect(writer.finish())
        let spill = try BatchSpill.Reader(path: dir + "/rows.batches", source: "rows.csv")
        var read: [[String]] = []
        while let batch = try spill.next() { read.append(describe(batch)) }
        #expect(written.count == 26)
        #expect(read == written)
        #expect(read.last?.last == "2860+1 #2145: last|尾|无换行")

        // A spill cut short is an error naming the file, never a crash or a silent end.
        let bytes = try #require(FileManager.default.contents(atPath: dir + "/rows.batches"))
        for cut in [7, 40, 41, bytes.count / 2, bytes.count - 1] {
            _ = FileManager.default.createFile(atPath: dir + "/cut.batches", contents: bytes.prefix(cut))
            let truncated = try BatchSpill.Reader(path: dir + "/cut.batches", source: "rows.csv")
            let error = #expect(throws: ReadError.self) { while try truncated.next() != nil {} }
            // It names the input file, not the copy, and says what to do.
            #expect(error?.description.contains("rows.csv") == true && error?.description.contains("cut.batches") == false)
            #expect(error?.description.contains("重新运行") == true)
        }

        // A damaged spill (counts no batch could have, a byte of its lengths changed) is refused
        // or read as batches whose fields lie within them: never a crash or a huge allocation.
        var huge = bytes
        withUnsafeBytes(of: Int64(1 << 50).littleEndian) { huge.replaceSubrange(16..<24, with: $0) }
        _ = FileManager.default.createFile(atPath: dir + "/huge.batches", contents: huge)
        let hugeSpill = try BatchSpill.Reader(path: dir + "/huge.batches", source: "rows.csv")
        #expect(throws: ReadError.self) { while try hugeSpill.next() != nil {} }
        var generator = SystemRandomNumberGenerator()
        var refused = 0
        for _ in 0..<300 {
            var damaged = bytes
            let at = Int.random(in: 40..<400, using: &generator)
            damaged[at] = UInt8.random(in: 0...255, using: &generator)
            if !readsThrough(damaged, at: dir + "/damaged.batches") { refused += 1 }
        }
        #expect(refused > 0)
    }

    @Test("a file's digest, read on its own thread, is of the file parsed: one written to or replaced meanwhile is an error")
    func digestOfTheFileParsed() throws {
        let dir = TestSupport.temporaryDirectory()
        let path = dir + "/teachers.csv"
        let text = Array(String(repeating: "学校标识码,姓名\n1101010001,张三\n", count: 40_000).utf8)
        FileManager.default.createFile(atPath: path, contents: Data(text))
        func opened() throws -> (Int32, FileIdentity) {
            let fd = open(path, O_RDONLY)
            try #require(fd >= 0)
            return (fd, try #require(FileIdentity(fd: fd)))
        }
        // Unchanged: the whole file's SHA-256 and size.
        let (fd, parsed) = try opened()
        let digest = try #require(FileDigest(fd: fd))
        close(fd)
        let whole = try digest.finish(path: "teachers.csv", expecting: parsed)
        #expect(whole.hex == SHA256.hexDigest(text) && whole.bytes == text.count)

        // A byte added while the digest is read: refused, whether or not the digest read it.
        let (fd2, before) = try opened()
        let grown = try #require(FileDigest(fd: fd2))
        close(fd2)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("\n".utf8))
        handle.closeFile()
        #expect(throws: ReadError.changedWhileRead(path: "teachers.csv")) { try grown.finish(path: "teachers.csv", expecting: before) }

        // Replaced by a copy of itself before the digest opened it: another file, refused.
        let (fd3, original) = try opened()
        close(fd3)
        FileManager.default.createFile(atPath: dir + "/copy.csv", contents: try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(rename(dir + "/copy.csv", path) == 0)
        let fd4 = open(path, O_RDONLY)
        let replaced = try #require(FileDigest(fd: fd4))
        close(fd4)
        #expect(throws: ReadError.changedWhileRead(path: "teachers.csv")) { try replaced.finish(path: "teachers.csv", expecting: original) }
    }

    @Test("batches without quotes are kept by their place in the file and read back from it byte for byte; a file changed meanwhile is an error")
    func spillByPosition() throws {
        let dir = TestSupport.temporaryDirectory()
        // Every line end libcsv knows (LF, CR LF, lone CR), blank lines of each, empty fields,
        // Chinese, a byte that is not UTF-8, a last record without a line end; then, in some
        // files, a quote past the first chunks: batches before it are kept by position, those
        // after it with their bytes. Comma and tab; with and without a byte order mark.
        func roster(quoteAt: Int?, delimiter: String, bom: Bool, quoteAll: Bool = false) -> [UInt8] {
            var bytes: [UInt8] = bom ? [0xEF, 0xBB, 0xBF] : []
            bytes += Array("编号\(delimiter)姓名\(delimiter)备注\n".utf8)
            for i in 1...50_000 {
                let d = delimiter
                switch i % 9 {
                case 0: bytes += Array("\n".utf8)
                case 1: bytes += Array("\(i)\(d)李四\(d)\(i * 31)\r\n".utf8)
                case 2: bytes += Array("\(i)\(d)\(d)\r".utf8)
                case 3: bytes += Array("\r\n".utf8)
                case 4: bytes += Array("\(i)\(d)赵六\(d)".utf8) + [0xFF] + Array("\n".utf8)
                case 5: bytes += Array("\(i)\(d)\(String(repeating: "长", count: i % 40))\(d)\(String(repeating: "x", count: i % 37))\n".utf8)
                case 6: bytes += Array("\r".utf8)
                default: bytes += Array("\(i)\(d)王五\(d)备\n".utf8)
                }
                if i == quoteAt { bytes += Array("\(i)\(d)\"引\(d)号\"\(d)q\n".utf8) }
                if quoteAll { bytes += Array("\(i)\(d)\"q\"\(d)\"\"\n".utf8) }
            }
            return bytes + Array("last\(delimiter)尾\(delimiter)无换行".utf8)
        }
        func entries(_ b: RecordBatch) -> [[Int]] { b.entries.map { [$0.line, $0.lineCount, $0.ordinal, $0.firstField, $0.fieldCount] } }
        for (quoteAt, delimiter, bom, quoteAll) in [(nil, ",", false, false), (nil, "\t", true, false), (40_000, ",", true, false), (30, ",", false, false),
                                                    (nil, ",", false, true)] as [(Int?, String, Bool, Bool)] {
            let label = "quote at \(quoteAt.map(String.init) ?? "none"), delimiter \(delimiter == "," ? "comma" : "tab"), bom \(bom), all \(quoteAll)"
            let path = dir + "/rows.csv"
            let bytes = roster(quoteAt: quoteAt, delimiter: delimiter, bom: bom, quoteAll: quoteAll)
            #expect(bytes.count > 3 * TableFileReader.chunkSize, "\(label)")
            _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
            var reader = try TableFileReader(path: path)
            let withText = try #require(BatchSpill.Writer(path: dir + "/text.batches", storesText: true))
            let byPosition = try #require(BatchSpill.Writer(path: dir + "/position.batches"))
            var written: [RecordBatch] = []
            var kept = 0
            try reader.readBatches(of: 500, keeping: { $0.isBlankLine ? $0.line > 1 : $0.ordinal > 1 }) { batch in
                withText.write(batch)
                byPosition.write(batch)
                written.append(batch)
                if batch.rawStart >= 0 { kept += 1 }
            }
            #expect(withText.finish() && byPosition.finish())
            let identity = try #require(reader.facts.identity)
            let text = BatchSpill.Text(path: path, identity: identity, delimiter: delimiter == "," ? 0x2C : 0x09)
            for spillPath in [dir + "/text.batches", dir + "/position.batches"] {
                let spill = try BatchSpill.Reader(path: spillPath, source: "rows.csv", text: text)
                var read: [RecordBatch] = []
                while let batch = try spill.next() { read.append(batch) }
                #expect(read.count == written.count, "\(label)")
                for (a, b) in zip(read, written) {
                    #expect(a.bytes == b.bytes && a.ends == b.ends && entries(a) == entries(b), "\(label): \(spillPath)")
                }
            }
            func size(_ p: String) -> Int { (try? FileManager.default.attributesOfItem(atPath: p)[.size] as? Int) ?? 0 }
            // A damaged spill of batches kept by position is refused or read as batches whose fields
            // lie within them: never a crash.
            if quoteAt == nil && !quoteAll && !bom {
                let stored = try #require(FileManager.default.contents(atPath: dir + "/position.batches"))
                var refused = 0
                for k in 0..<200 {
                    var damaged = stored
                    damaged[(k * 7_919) % min(stored.count, 2_000)] ^= UInt8(1 + k % 255)
                    if !readsThrough(damaged, at: dir + "/damaged.batches", text: text) { refused += 1 }
                }
                #expect(refused > 100, "\(label): \(refused)")
            }
            if quoteAll {
                // A file whose records are mostly quoted is parsed chunk by chunk, its batches kept with their bytes.
                #expect(kept == 0, "\(label)")
            } else if quoteAt == nil {
                // Every batch by position: the spill is a fraction of the file.
                #expect(kept == written.count, "\(label)")
                #expect(size(dir + "/position.batches") * 3 < size(dir + "/text.batches"), "\(label)")
            } else {
                // All but the batch with the quoted record.
                #expect(kept == written.count - 1, "\(label): \(kept) of \(written.count)")
            }
        }

        // The file changed after it was parsed: longer, or replaced by a copy of itself.
        let path = dir + "/rows.csv"
        _ = FileManager.default.createFile(atPath: path, contents: Data(roster(quoteAt: nil, delimiter: ",", bom: false)))
        func spillOf(_ path: String) throws -> BatchSpill.Text {
            var reader = try TableFileReader(path: path)
            let writer = try #require(BatchSpill.Writer(path: dir + "/changed.batches"))
            try reader.readBatches(of: 500, keeping: { $0.ordinal > 1 || $0.isBlankLine }) { writer.write($0) }
            #expect(writer.finish())
            return BatchSpill.Text(path: path, identity: try #require(reader.facts.identity), delimiter: 0x2C)
        }
        func readBack(_ text: BatchSpill.Text) -> ReadError? {
            do {
                let spill = try BatchSpill.Reader(path: dir + "/changed.batches", source: "rows.csv", text: text)
                while try spill.next() != nil {}
                return nil
            } catch {
                return error
            }
        }
        #expect(readBack(try spillOf(path)) == nil)
        var text = try spillOf(path)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("\n".utf8))
        handle.closeFile()
        let longer = readBack(text)
        #expect(longer?.description.contains("rows.csv") == true && longer?.description.contains("改动或替换") == true)
        text = try spillOf(path)
        try FileManager.default.copyItem(atPath: path, toPath: dir + "/copy.csv")
        #expect(rename(dir + "/copy.csv", path) == 0)
        #expect(readBack(text)?.description.contains("改动或替换") == true)
        // A file that is not laid out as the batches say (here: one byte more at its start, under
        // its own identity) is found out by its delimiters and line ends, and refused.
        text = try spillOf(path)
        let original = try #require(FileManager.default.contents(atPath: path))
        _ = FileManager.default.createFile(atPath: dir + "/shifted.csv", contents: Data([0x41]) + original)
        let shifted = try RegularFile.openForReading(dir + "/shifted.csv")
        let shiftedText = BatchSpill.Text(path: dir + "/shifted.csv", identity: try #require(FileIdentity(fd: shifted)), delimiter: 0x2C)
        close(shifted)
        #expect(readBack(shiftedText)?.description.contains("改动或替换") == true)
    }

    @Test("a spill read back gives its pages back as it goes, and every batch still reads as written")
    func spillReleasedAsRead() throws {
        let dir = TestSupport.temporaryDirectory()
        let path = dir + "/rows.csv"
        // About 30 MB of rows: several release steps of 8 MiB.
        var text = "编号,身份证号,备注\n"
        for i in 0..<240_000 { text += "T\(i),11010519491231002X,\(String(repeating: "备注", count: 15 + i % 10))\n" }
        TestSupport.write(text, to: path)
        var reader = try TableFileReader(path: path)
        var written = 0, writtenFields = 0
        // Stored with their bytes, as a file with quotes is: this is about the spill's own pages.
        let writer = try #require(BatchSpill.Writer(path: dir + "/rows.batches", storesText: true))
        try reader.readBatches(of: 1_024, keeping: { $0.isBlankLine || $0.ordinal > 1 }) { batch in
            writer.write(batch)
            written += batch.count
            writtenFields += batch.ends.count
        }
        #expect(writer.finish())
        func allocated() -> (size: Int, held: Int) {
            var info = stat()
            _ = stat(dir + "/rows.batches", &info)
            return (Int(info.st_size), Int(info.st_blocks) * 512)
        }
        let before = allocated()
        #expect(before.size > 28_000_000 && before.held >= before.size - 4096)
        let spill = try BatchSpill.Reader(path: dir + "/rows.batches", source: "rows.csv")
        var read = 0, readFields = 0, last = ""
        while let batch = try spill.next() {
            read += batch.count
            readFields += batch.ends.count
            batch.forEachRecord({ r in last = r.string(0)! + "|" + r.string(1)! }, blankLine: { _ in })
        }
        #expect(read == 240_000 && read == written && readFields == writtenFields)
        #expect(last == "T239999|11010519491231002X")
        // Read to the end: the file keeps its size, but holds at most the last step's pages
        // (required on the disk file systems and tmpfs, which can all give back part of a file).
        let after = allocated()
        #expect(after.size == before.size)
        let system = TestSupport.fileSystemType(of: dir)
        if TestSupport.diskFileSystems.contains(system) || system == "tmpfs" {
            #expect(after.held < 9 << 20, "still held: \(after.held) of \(after.size) bytes on \(system)")
        }
    }

    @Test("a file parsed in two parts from any line end gives the records, lines, ordinals and digest of one parse, or reads on when the line end is quoted")
    func twoParts() throws {
        let dir = TestSupport.temporaryDirectory()
        let path = dir + "/rows.csv"
        // Quoted line breaks (LF and CR LF), blank lines, CR LF and lone CR line ends, a quote inside an
        // unquoted field, an invalid byte, a last record without a line end: a line end can split anywhere.
        var bytes = Array("\u{FEFF}编号,姓名,备注\n".utf8)
        for i in 1...60 {
            switch i % 6 {
            case 0: bytes += Array("\n".utf8)
            case 1: bytes += Array("\(i),\"张\n三\r\n丰\",\"\"\"引\"\"\"\n".utf8)
            case 2: bytes += Array("\(i),李四,\(i * 31)\r\n".utf8)
            case 3: bytes += Array("\(i),王\"五,备\r".utf8)
            case 4: bytes += Array("\(i),赵六,".utf8) + [0xFF] + Array("\n".utf8)
            default: bytes += Array("\(i),,\n\r\n".utf8)
            }
        }
        bytes += Array("last,尾,无换行".utf8)
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let keep: (EntrySummary) -> Bool = { $0.isBlankLine ? $0.line > 1 : $0.ordinal > 1 }
        var whole = try TableFileReader(path: path)
        #expect(whole.facts.encoding == .utf8BOM)
        var expected: [String] = []
        try whole.readBatches(of: 7, keeping: keep) { expected += describe($0) }
        #expect(expected.count == 71) // 50 records, 20 blank lines, the last record

        var splits = 0, readOn = 0
        for (i, b) in bytes.enumerated() where b == 0x0A && i + 1 < bytes.count {
            var first = try TableFileReader(path: path)
            var got: [String] = []
            let end = try first.readFirstPart(of: 7, until: i + 1, from: 1, keeping: keep) { got += describe($0) }
            #expect(first.facts.sha256 == whole.facts.sha256 && first.facts.byteCount == bytes.count, "split at \(i + 1)")
            var invalid = first.facts.invalidSequences
            if let end {
                splits += 1
                // The second part through a spill file read back with the first part's end added, as the main pass reads it.
                var second = try TableFileReader(path: path)
                let writer = try #require(BatchSpill.Writer(path: dir + "/part2.batches"))
                try second.readLastPart(of: 7, from: i + 1, stopWhen: { false }) { writer.write($0) }
                #expect(writer.finish())
                let text = BatchSpill.Text(path: path, identity: try #require(second.facts.identity), delimiter: 0x2C)
                let spill = try BatchSpill.Reader(path: dir + "/part2.batches", source: "rows.csv", offset: end, text: text)
                while let batch = try spill.next() { got += describe(batch) }
                invalid += second.facts.invalidSequences
            } else {
                readOn += 1
            }
            #expect(got == expected, "split at \(i + 1)")
            #expect(invalid == whole.facts.invalidSequences, "split at \(i + 1)")
        }
        // Both ways were taken: most line ends end a record, those inside quotes do not.
        #expect(splits == 61 && readOn == 20)
        // Only a large enough UTF-8 file is split, after the first line end past its middle.
        let reader = try TableFileReader(path: path)
        #expect(reader.splitPoint(minimumBytes: bytes.count + 1) == nil)
        let point = try #require(reader.splitPoint(minimumBytes: 1))
        #expect(point > bytes.count / 2 && bytes[point - 1] == 0x0A && !bytes[bytes.count / 2..<(point - 1)].contains(0x0A))
    }

    @Test("encodings are detected from the bytes", arguments: [
        ("encoding_utf8.csv", TextEncoding.utf8, "comma", "lf"),
        ("encoding_utf8_bom.csv", .utf8BOM, "comma", "crlf"),
        ("encoding_gb18030.csv", .gb18030, "comma", "crlf"),
        ("encoding_utf16le_tab.txt", .utf16LE, "tab", "crlf"),
        ("encoding_utf16be_tab.txt", .utf16BE, "tab", "crlf"),
        ("invalid_utf8_bytes.csv", .utf8, "comma", "lf"),
    ])
    func detection(file: String, encoding: TextEncoding, delimiter: String, lineEnding: String) throws {
        let reader = try TableFileReader(path: TestSupport.fixture("reading/" + file))
        #expect(reader.facts.encoding == encoding)
        #expect(reader.facts.dialect.delimiterName == delimiter)
        #expect(reader.facts.dialect.lineEnding == lineEnding)
    }

    @Test("the same roster in five encodings reads to the same records", arguments: [
        "encoding_utf8_bom.csv", "encoding_gb18030.csv", "encoding_utf16le_tab.txt", "encoding_utf16be_tab.txt",
    ])
    func sameContentInEveryEncoding(file: String) throws {
        func records(_ name: String) throws -> [[String]] {
            var reader = try TableFileReader(path: TestSupport.fixture("reading/" + name))
            var out: [[String]] = []
            try reader.read { event in
                if case .record(let r) = event { out.append((0..<r.fieldCount).map { r.string($0) ?? "<invalid>" }) }
            }
            return out
        }
        let reference = try records("encoding_utf8.csv")
        #expect(reference.count == 4)
        #expect(reference[2][1] == "陈小明")
        #expect(try records(file) == reference)
    }

    @Test("GB18030 split at every byte decodes the same as whole")
    func gb18030ChunkSplits() throws {
        let data = bytes("encoding_gb18030.csv")
        let whole = try parse(data, encoding: .gb18030, chunk: data.count).rows
        for size in [1, 2, 3, 5] {
            #expect(try parse(data, encoding: .gb18030, chunk: size).rows == whole)
        }
    }

    @Test("an invalid GB18030 byte is kept as a marked field, not lost or fatal")
    func invalidBytesStayInTheirField() throws {
        let rows = try parse(bytes("invalid_gb18030_bytes.csv"), encoding: .gb18030, chunk: 7).rows
        #expect(rows.count == 4)
        #expect(rows[2].fields[1].contains("\u{FFFD}"))
        #expect(rows[3].fields[1] == "李娜")
    }

    @Test("the file's SHA-256 is computed while reading")
    func sha256OfInput() throws {
        var reader = try TableFileReader(path: TestSupport.fixture("reading/cr_only.csv"))
        try reader.read { _ in }
        // printf 'a,b\r1,2\r3,4' | sha256sum
        #expect(reader.facts.sha256 == "c3467d89a64fce0f94bc01ec646dea2ba40e29344f78b190174b42351df813c1")
        var h = SHA256()
        h.update(Array("abc".utf8))
        #expect(h.finalHex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var empty = SHA256()
        #expect(empty.finalHex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        var long = SHA256()
        long.update(Array(String(repeating: "a", count: 1000).utf8))
        #expect(long.finalHex() == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    @Test("SHA-256 gives the FIPS 180-2 answers however the input is chunked, and again after a digest")
    func sha256KnownAnswers() {
        var generator = SeededGenerator(seed: 256)
        // FIPS 180-2 appendix B: "abc", the 448-bit message, and one million "a".
        let vectors: [([UInt8], String)] = [
            ([], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            (Array("abc".utf8), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
            ([UInt8](repeating: 0x61, count: 1_000_000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
        ]
        var reused = SHA256()
        for (data, digest) in vectors {
            #expect(SHA256.hexDigest(data) == digest, "\(data.count) bytes in one piece")
            for _ in 0..<3 {
                var h = SHA256()
                var offset = 0
                while offset < data.count {
                    let n = min(data.count - offset, Int.random(in: 1...5000, using: &generator))
                    data[offset..<(offset + n)].withUnsafeBytes { h.update($0) }
                    offset += n
                }
                #expect(h.finalHex() == digest, "\(data.count) bytes in pieces")
            }
            // A hasher starts again empty after giving its digest.
            reused.update(data)
            #expect(reused.finalHex() == digest, "\(data.count) bytes, hasher reused")
        }
    }

    @Test("a file's SHA-256 read in many chunks equals sha256sum's")
    func sha256OfLargeFileMatchesCoreutils() throws {
        var generator = SeededGenerator(seed: 2026)
        // Several reading chunks and an uneven tail; every byte value, line ends among them.
        var text = "a,b\n"
        while text.utf8.count < 3 * TableFileReader.chunkSize + 12_345 {
            text += "\(UInt64.random(in: 0...UInt64.max, using: &generator)),\(Int.random(in: 0...999, using: &generator))\n"
        }
        let path = TestSupport.temporaryDirectory() + "/large.csv"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        var reader = try TableFileReader(path: path)
        try reader.read { _ in }
        let output = try TestSupport.run("/usr/bin/sha256sum", [path]).stdout
        let expected = String(output.prefix { $0 != " " })
        #expect(expected.count == 64)
        #expect(reader.facts.sha256 == expected)
        #expect(reader.facts.byteCount == text.utf8.count)
    }

    @Test("a missing file is a read error naming the path")
    func missingFile() throws {
        let path = TestSupport.temporaryDirectory() + "/不存在/teachers.csv"
        let error = #expect(throws: ReadError.self) { try TableFileReader(path: path) }
        guard case .cannotOpen(let named, _)? = error else {
            Issue.record("expected cannotOpen, got \(String(describing: error))")
            return
        }
        #expect(named == path)
        #expect(error?.description.contains(path) == true, "\(error!.description)")
    }
}
