// Run: the unique-key pre-pass. Before the main pass, every file of a table is read once for its
// keys as it is parsed; the keys are sorted on disk and the rows that repeat a key are known
// before any row is validated.
import Foundation
import Synchronization
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules

extension ValidationRun {
    /// One batch's unique keys: each record's ordinal and line, and per unique constraint
    /// of the table its fingerprint (nil when the record has no complete key), row by row.
    struct BatchKeys {
        var positions: [(ordinal: Int32, line: Int32)] = []
        var keys: [(UInt64, UInt64)?] = []
    }

    /// A file the pre-pass read to the end: what reading established, and where its batches are kept.
    struct FirstPass {
        var facts: FileFacts
        /// The spill files in file order, each with what is added to its line numbers and
        /// ordinals (two when the file was parsed in two parts at once); empty when writing
        /// one failed (the main pass then reads the file itself).
        var spills: [(path: String, offset: PartEnd)]
        /// The file's SHA-256 and size are left to the main pass. A file parsed in two parts
        /// keeps both cores busy: a third thread reading it for its digest took a core's share
        /// from one part, which then ended tens of milliseconds after the other, one core idle.
        /// In the main pass, which keeps both cores busy throughout, it costs half its time.
        var digestLater = false
    }

    /// One part of a file in the pre-pass: the thread reading the part fingerprints each batch's
    /// keys as the batch is read (a few hundred instructions a row: handing the batch to other
    /// threads cost more than it saved, with both cores already reading), and the keys are added
    /// to `finders` in file order on a thread of their own (sorting and spilling runs takes time,
    /// and the reading thread is what this pass waits for).
    final class KeyStage: @unchecked Sendable {
        let finders: [DuplicateFinder]
        private let fileIndex: Int32
        private let readers: [(normaliser: CellNormaliser, field: Int)?]
        private let positions: [[Int]]
        /// Each one-column constraint's normaliser and field, and each finder, held unretained
        /// (`readers` and `finders` keep them): no reference count per row or key.
        private let single: [(normaliser: Unmanaged<CellNormaliser>, field: Int)?]
        private let unretainedFinders: [Unmanaged<DuplicateFinder>]
        private let adding = BoundedStage(label: "schoolstat.keys", capacity: 8)

        /// `readers` gives the normaliser and field of each key column the file has (one set per
        /// part, each read by one thread); `positions` lists each unique constraint's columns as
        /// indices into that set.
        init(finders: [DuplicateFinder], fileIndex: Int32, readers: [(normaliser: CellNormaliser, field: Int)?], positions: [[Int]]) {
            self.finders = finders
            self.fileIndex = fileIndex
            self.readers = readers
            self.positions = positions
            single = positions.map { p in
                guard p.count == 1, let reader = readers[p[0]] else { return nil }
                return (Unmanaged.passUnretained(reader.normaliser), reader.field)
            }
            unretainedFinders = finders.map { Unmanaged.passUnretained($0) }
        }

        /// Fingerprints the batch's keys on the calling thread and hands them to the adding thread.
        func submit(_ batch: RecordBatch) { add(keys(of: batch)) }

        /// Waits until every submitted batch's keys are in the finders.
        func finish() {
            adding.drain()
        }

        private func add(_ batch: BatchKeys) {
            adding.submit { [self] in
                let constraints = finders.count, unretained = unretainedFinders
                for (row, position) in batch.positions.enumerated() {
                    for u in 0..<constraints {
                        if let key = batch.keys[row * constraints + u] {
                            unretained[u]._withUnsafeGuaranteedRef {
                                $0.add(fingerprint: key, position: RowPosition(file: fileIndex, record: position.ordinal), line: Int(position.line))
                            }
                        }
                    }
                }
            }
        }

        private func keys(of batch: RecordBatch) -> BatchKeys {
            let readers = readers, positions = positions, single = single
            let constraints = positions.count
            var out = BatchKeys()
            out.keys.reserveCapacity(batch.count * constraints)
            out.positions.reserveCapacity(batch.count)
            var values = [String?](repeating: nil, count: readers.count)
            batch.forEachRecord({ r in
                guard !r.isBlank else { return }
                out.positions.append((Int32(r.ordinal), Int32(truncatingIfNeeded: r.line)))
                // A one-column key written as it is canonically: fingerprinted straight from its bytes.
                var general = false
                for u in 0..<constraints {
                    if let s = single[u], s.field < r.fieldCount,
                       let key = r.withField(s.field, { b in
                           s.normaliser._withUnsafeGuaranteedRef { $0.isAcceptedAsWritten(b) } ? DuplicateFinder.fingerprint(b) : nil
                       }) {
                        out.keys.append(key)
                    } else {
                        out.keys.append(nil)
                        general = true
                    }
                }
                guard general else { return }
                // Otherwise the general way: normalise the key cells, join multi-column keys.
                for (k, reader) in readers.enumerated() {
                    values[k] = nil
                    guard let reader, reader.field < r.fieldCount,
                          case .success(let v)? = r.withField(reader.field, reader.normaliser.normalise(field:)), !v.isMissing else { continue }
                    values[k] = v.description
                }
                let base = out.keys.count - constraints
                for (u, p) in positions.enumerated() where out.keys[base + u] == nil {
                    if p.count == 1 { out.keys[base + u] = values[p[0]].map(DuplicateFinder.fingerprint); continue }
                    guard !p.isEmpty, p.allSatisfy({ values[$0] != nil }) else { continue }
                    out.keys[base + u] = DuplicateFinder.fingerprint(p.map { values[$0]! }.joined(separator: "\u{1F}"))
                }
            }, blankLine: { _ in })
            return out
        }
    }

    /// The second part of a large file, parsed on a thread of its own while the calling thread
    /// parses the first: its batches go to a spill file of their own and its keys to finders of
    /// their own, all numbered from the part's start until the first part's end is known.
    final class SecondPart: @unchecked Sendable {
        let spill: BatchSpill.Writer?
        let stage: KeyStage
        private let stopRequested = Atomic<Bool>(false)
        private var outcome: Pending<(kept: Bool, invalidSequences: Int, identity: FileIdentity?)?>!

        init(reader: TableFileReader, from start: Int, spillPath: String, stage: KeyStage) {
            let spill = BatchSpill.Writer(path: spillPath)
            self.spill = spill
            self.stage = stage
            outcome = Pending(name: "schoolstat-second-part", stackSize: 8 << 20) { [self] in
                var reader = reader
                var read = true
                do {
                    try reader.readLastPart(of: TableValidator.batchSize, from: start, stopWhen: { self.stopRequested.load(ordering: .relaxed) }) { batch in
                        spill?.write(batch)
                        stage.submit(batch)
                    }
                } catch {
                    read = false // the main pass reads the whole file again and reports what went wrong
                }
                stage.finish()
                let kept = spill?.finish() ?? false
                return read && !self.stopRequested.load(ordering: .relaxed) ? (kept, reader.facts.invalidSequences, reader.facts.identity) : nil
            }
        }

        /// Waits for the part to be read; nil when it could not be read to the end.
        func wait() -> (kept: Bool, invalidSequences: Int, identity: FileIdentity?)? {
            outcome.value
        }

        /// The first part's reader went on to the end of the file: stops this part and forgets it.
        func cancel() {
            stopRequested.store(true, ordering: .relaxed)
            _ = outcome.value
            stage.finders.forEach { $0.discard() }
            if let spill { unlink(spill.path) }
        }
    }

    /// The pre-pass: reads every file of a table and keeps the unique keys, and the batches
    /// for the main pass. The reading thread fingerprints each batch's keys; they are added in
    /// file order on a thread of their own. A large UTF-8 file is parsed in two parts at once,
    /// one per thread (`--threads` above 1): libcsv is most of what this pass waits for.
    func findDuplicates(table: TableSchema, plans: [FilePlan], ruleSet: RuleSet, converter: ChineseConverter, tempDir: String,
                                firstPasses: inout [Int32: FirstPass]) throws(WriteError) -> DuplicateFiles {
        let finders = table.unique.enumerated().map { DuplicateFinder(tempDirectory: tempDir, name: "\(table.name).\($0.offset)") }
        let keyColumns = table.unique.map { u in u.columns.compactMap { table.columnIndex($0) } }
        let threads = max(1, options.threads)
        for plan in plans {
            let columns = Array(Set(keyColumns.flatMap { $0 })).sorted()
            let positions = keyColumns.map { u in u.map { columns.firstIndex(of: $0)! } }
            func stage(_ finders: [DuplicateFinder]) -> KeyStage {
                let readers = columns.map { i -> (normaliser: CellNormaliser, field: Int)? in
                    guard let field = plan.header.fieldForColumn[i] else { return nil }
                    return (CellNormaliser(column: table.columns[i], vocabulary: ruleSet.vocabulary, converter: converter,
                                           headerUnit: plan.header.unitForColumn[i]), field)
                }
                return KeyStage(finders: finders, fileIndex: plan.index, readers: readers, positions: positions)
            }
            let first = stage(finders)
            var reader = plan.reader
            let (headerLine, headerOrdinal) = (plan.headerLine, plan.headerOrdinal)
            let spillPath = "\(tempDir)/\(plan.index).batches"
            let spill = BatchSpill.Writer(path: spillPath)
            let split = threads > 1 ? reader.splitPoint(minimumBytes: options.splitParseMinimumBytes) : nil
            // A file parsed in two parts, or whose digest began early, has it finished in the main pass.
            if split != nil || earlyDigestIsOf(reader.facts.path) { reader.computesDigest = false }
            let second = split.map { start in
                SecondPart(reader: plan.reader, from: start, spillPath: "\(tempDir)/\(plan.index).part2.batches",
                           stage: stage(table.unique.indices.map {
                               // Half the usual run: this part's finders come on top of the file's own. Named after
                               // the file: their runs stay on disk, taken over by the table's finders, until the merge.
                               DuplicateFinder(tempDirectory: tempDir, name: "\(table.name).\($0).file\(plan.index).part2",
                                               runCapacity: DuplicateFinder.defaultRunCapacity / 2)
                           }))
            }
            let keep: (EntrySummary) -> Bool = { TableValidator.isAfterHeader($0, headerLine: headerLine, headerOrdinal: headerOrdinal) }
            let submit: (RecordBatch) -> Void = { batch in
                spill?.write(batch)
                first.submit(batch)
            }
            var end: PartEnd?
            var read = true
            do {
                if let split, let second {
                    end = try reader.readFirstPart(of: TableValidator.batchSize, until: split, from: headerOrdinal, keeping: keep, submit)
                    if end == nil { second.cancel() } // the first part's reader read the whole file
                } else {
                    try reader.readBatches(of: TableValidator.batchSize, keeping: keep, submit)
                }
            } catch {
                read = false // the main pass reads the file again and reports what went wrong
                if end == nil, let second { second.cancel() }
            }
            first.finish()
            let kept = spill?.finish() ?? false
            guard read else { continue }
            var pass = FirstPass(facts: reader.facts, spills: kept ? [(spillPath, .start)] : [], digestLater: !reader.computesDigest)
            if let end, let second {
                let part = second.wait()
                for (u, finder) in finders.enumerated() { finder.absorb(second.stage.finders[u], offset: end) }
                // Both parts read the same file, unchanged (their batches may be read back from it).
                if let part, part.kept, kept, part.identity == reader.facts.identity {
                    pass.spills.append((second.spill!.path, end))
                    pass.facts.invalidSequences += part.invalidSequences
                } else {
                    pass.spills = [] // not all of the file is kept: the main pass reads it itself
                }
            }
            firstPasses[plan.index] = pass
        }
        // Each constraint's runs are merged on its own thread: the merges share nothing, and the
        // pass would otherwise leave all but one core idle while they run.
        guard threads > 1, finders.count > 1 else {
            var all: DuplicateFiles = []
            for finder in finders { all.append(try finder.duplicates(sortingIn: tempDir)) }
            return all
        }
        let merged = MergedDuplicates(count: finders.count)
        Threads.forEach(finders.count, threads: threads) { i in
            do throws(WriteError) { merged.set(i, try finders[i].duplicates(sortingIn: tempDir)) } catch { merged.fail(error) }
        }
        return try merged.all()
    }

    /// What the constraints' merges found, each set once from its own thread, or the first
    /// working file one of them could not write or read back.
    final class MergedDuplicates: Sendable {
        private let results: Mutex<(found: DuplicateFiles, failure: WriteError?)>
        init(count: Int) { results = Mutex((Array(repeating: [:], count: count), nil)) }
        func set(_ i: Int, _ found: [Int32: String]) { results.withLock { $0.found[i] = found } }
        func fail(_ error: WriteError) { results.withLock { if $0.failure == nil { $0.failure = error } } }
        func all() throws(WriteError) -> DuplicateFiles {
            let (found, failure) = results.withLock { $0 }
            if let failure { throw failure }
            return found
        }
    }
}
