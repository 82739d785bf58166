// History: what changed between two runs. Findings are matched by table, the row's business key,
// rule and column — never by line, which moves when a clerk inserts a row. A key seen twice in
// one run and once in the other counts once as open and once as new (or fixed).
import Foundation
import SchoolStatModel
import SchoolStatBytes
import SchoolStatPipeline

public enum Change: String, Sendable, Codable {
    case new, fixed, open
}

public struct ChangeRow: Sendable {
    public var change: Change
    public var finding: RecordedFinding
}

public enum Changes {
    /// Compares `current` with `previous`: each current finding gets its `openRuns` (one more than
    /// the finding it continues, 1 when new). Rows are in the current run's order, fixed ones last.
    public static func compare(previous: [RecordedFinding], current: inout [RecordedFinding], previousRun: String?,
                               previousFinished: String?) -> (summary: ChangeSummary, rows: [ChangeRow]) {
        var before: [String: [Int]] = [:]
        for (i, f) in previous.enumerated() where !f.waived { before[f.matchKey, default: []].append(i) }
        var rows: [ChangeRow] = []
        var totals = ChangeCounts()
        var byRule: [String: ChangeCounts] = [:], bySchool: [String: ChangeCounts] = [:]
        var newErrors = 0
        func count(_ change: Change, _ f: RecordedFinding) {
            switch change {
            case .new: totals.new += 1; byRule[f.rule, default: .init()].new += 1; bySchool[f.school, default: .init()].new += 1
            case .fixed: totals.fixed += 1; byRule[f.rule, default: .init()].fixed += 1; bySchool[f.school, default: .init()].fixed += 1
            case .open: totals.open += 1; byRule[f.rule, default: .init()].open += 1; bySchool[f.school, default: .init()].open += 1
            }
        }
        for i in current.indices where !current[i].waived {
            let key = current[i].matchKey
            if var list = before[key], !list.isEmpty {
                let earlier = previous[list.removeFirst()]
                before[key] = list
                current[i].openRuns = earlier.openRuns + 1
                count(.open, current[i])
                rows.append(ChangeRow(change: .open, finding: current[i]))
            } else {
                current[i].openRuns = 1
                count(.new, current[i])
                if current[i].severity == Severity.error.rawValue { newErrors += 1 }
                rows.append(ChangeRow(change: .new, finding: current[i]))
            }
        }
        for (i, f) in previous.enumerated() where !f.waived {
            guard let list = before[f.matchKey], list.contains(i) else { continue }
            count(.fixed, f)
            rows.append(ChangeRow(change: .fixed, finding: f))
        }
        let summary = ChangeSummary(previousRun: previousRun, previousFinished: previousFinished, totals: totals, newErrors: newErrors,
                                    byRule: byRule, bySchool: bySchool)
        return (summary, rows)
    }

    /// `changes.csv`: one line per new, fixed and still-open finding, with how many runs it has been open.
    public static func writeCSV(_ rows: [ChangeRow], to path: String) throws(WriteError) {
        let file = try BufferedFile(path: path)
        file.write([0xEF, 0xBB, 0xBF])
        let csv = CSVWriter(file: file)
        csv.writeRow(["change", "table", "school_code", "record_key", "rule_id", "severity", "column", "value", "source_file", "source_line",
                      "runs_open", "message_zh", "message_en"], defuse: false)
        let order: [Change: Int] = [.new: 0, .open: 1, .fixed: 2]
        for row in rows.sorted(by: { (order[$0.change]!, $0.finding.school) < (order[$1.change]!, $1.finding.school) }) {
            let f = row.finding
            csv.writeRow([row.change.rawValue, f.table, f.school, f.key, f.rule, f.severity, f.column, f.value, f.file, String(f.line),
                          row.change == .fixed ? "" : String(f.openRuns), f.messageZh, f.messageEn])
        }
        try file.close()
    }

    /// Console lines: the totals, then per rule and per school, in the chosen language.
    public static func describe(_ summary: ChangeSummary, zh: Bool, limit: Int = 10) -> [String] {
        var lines: [String] = []
        let t = summary.totals
        if let previous = summary.previousRun {
            lines.append(zh ? "与上次运行 \(previous) 相比：新增问题 \(t.new) 条（其中错误 \(summary.newErrors) 条），已修复 \(t.fixed) 条，仍未解决 \(t.open) 条。"
                            : "Since run \(previous): \(t.new) new findings (\(summary.newErrors) errors), \(t.fixed) fixed, \(t.open) still open.")
        } else {
            lines.append(zh ? "运行历史中没有对同样输入的上一次运行：全部 \(t.new) 条问题记为新增。"
                            : "No earlier run over the same inputs is recorded: all \(t.new) findings count as new.")
        }
        guard summary.previousRun != nil else { return lines }
        let rules = summary.byRule.filter { $0.value.new + $0.value.fixed > 0 }.sorted { ($1.value.new + $1.value.fixed, $0.key) < ($0.value.new + $0.value.fixed, $1.key) }
        for (rule, c) in rules.prefix(limit) {
            lines.append(zh ? "  规则 \(rule)：新增 \(c.new)，修复 \(c.fixed)，仍未解决 \(c.open)" : "  rule \(rule): \(c.new) new, \(c.fixed) fixed, \(c.open) open")
        }
        let schools = summary.bySchool.filter { !$0.key.isEmpty && $0.value.new + $0.value.fixed > 0 }
            .sorted { ($1.value.new + $1.value.fixed, $0.key) < ($0.value.new + $0.value.fixed, $1.key) }
        for (school, c) in schools.prefix(limit) {
            lines.append(zh ? "  学校 \(school)：新增 \(c.new)，修复 \(c.fixed)，仍未解决 \(c.open)" : "  school \(school): \(c.new) new, \(c.fixed) fixed, \(c.open) open")
        }
        return lines
    }
}
