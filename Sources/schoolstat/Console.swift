// What `validate` prints: findings on stderr, the summary on stdout, in Chinese or English.
import ArgumentParser
import Foundation
import Synchronization
import SchoolStatModel
import SchoolStatBytes
import SchoolStatRules
import SchoolStatPipeline
import SchoolStatReporting
import SchoolStatHistory

/// Human-readable output on stderr (findings) and stdout (summary).
final class Console {
    let language: Language
    let quiet: Bool
    let limit: Int
    private var shown = 0
    private var hidden = 0

    init(language: Language, quiet: Bool, limit: Int) {
        self.language = language
        self.quiet = quiet
        self.limit = limit
    }

    private func err(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

    func show(_ e: LedgerEntry) {
        guard !quiet else { return }
        guard shown < limit else { hidden += 1; return }
        shown += 1
        let level = e.severity == .error ? (language == .zh ? "错误" : "error") : (language == .zh ? "警告" : "warning")
        // Findings about a group (a county, a school's roster) have no line: name the table and the group.
        let place = e.line > 0 ? "\(e.input):\(e.line)" : (e.sourceFile.isEmpty ? "\(e.table) \(e.recordKey)" : e.input)
        let message = language == .zh ? e.messageZh : e.messageEn
        err("\(place): \(level) [\(e.ruleID)] \(message)")
    }

    /// A remark about the run itself (not a finding), shown even when findings are not.
    func note(_ zh: String, _ en: String) {
        err("schoolstat: " + (language == .zh ? zh : en))
    }

    func fail(_ error: RunError) {
        let label = language == .zh ? "schoolstat 无法运行" : "schoolstat cannot run"
        err("\(label):\n\(error.description)")
    }

    func summarise(_ result: RunResult) {
        let s = result.summary
        if hidden > 0 {
            err(language == .zh ? "……另有 \(hidden) 条问题未显示，完整清单见 \(result.outputDirectory)/ledger.csv"
                                : "… \(hidden) more findings not shown; see \(result.outputDirectory)/ledger.csv")
        }
        var lines: [String] = []
        for input in s.inputs {
            // A sheet that is not a table was named with the reason among the findings.
            let table = input.table ?? (input.path.hasSuffix("]") && input.error == nil ? (language == .zh ? "跳过（不是数据表）" : "skipped (not a table)")
                                                                                      : (language == .zh ? "未识别" : "unrecognised"))
            let dialect = input.dialect.map { ", \($0.delimiterName)/\($0.lineEnding)" } ?? ""
            lines.append("  \(input.path)  →  \(table)  [\(input.encoding)\(dialect)]")
        }
        let header = language == .zh ? "输入文件:" : "Inputs:"
        print(header)
        lines.forEach { print($0) }
        print(language == .zh ? "各表行数（读入 = 合格 + 隔离）:" : "Rows per table (read = clean + rejected):")
        for name in s.tables.keys.sorted() {
            let t = s.tables[name]!
            let words = language == .zh ? ("读入", "合格", "隔离") : ("read", "clean", "rejected")
            print("  \(pad(name, 16)) \(words.0) \(pad(String(t.rowsRead), 7)) \(words.1) \(pad(String(t.rowsClean), 7)) \(words.2) \(pad(String(t.rowsRejected), 7))")
        }
        let totals: [(rule: String, count: Int)] = s.findings.map { entry in (entry.key, entry.value.values.reduce(0, +)) }
        let top = totals.sorted { a, b in a.count != b.count ? a.count > b.count : a.rule < b.rule }.prefix(10)
        if !top.isEmpty {
            print(language == .zh ? "最常见的问题:" : "Most frequent findings:")
            for (rule, n) in top { print("  \(pad(String(n), 6)) \(rule)") }
        }
        if !s.ruleResults.isEmpty {
            let met = s.ruleResults.values.reduce(0) { $0 + ($1["met"] ?? 0) }
            let notMet = s.ruleResults.values.reduce(0) { $0 + ($1["not_met"] ?? 0) }
            let missing = s.ruleResults.values.reduce(0) { $0 + ($1["not_evaluable"] ?? 0) }
            let packs = s.packs.map { "\($0.name) \($0.version)" }.joined(separator: ", ")
            print(language == .zh
                  ? "规则包评估（\(s.profile ?? "无地区参数")；\(packs)）：达标 \(met) 次，不达标 \(notMet) 次，无法核验 \(missing) 次；明细见 evaluations.csv"
                  : "Rule packs (\(s.profile ?? "no profile"); \(packs)): \(met) met, \(notMet) not met, \(missing) not evaluable; see evaluations.csv")
        }
        if let changes = s.changes {
            Changes.describe(changes, zh: language == .zh).forEach { print($0) }
            if changes.previousRun != nil { print(language == .zh ? "新增、修复和仍未解决的问题见 changes.csv" : "New, fixed and open findings: see changes.csv") }
        }
        let verdict: String
        switch result.status {
        case .clean where s.totals.errors > 0:
            verdict = language == .zh ? "没有新增错误（仍有 \(s.totals.errors) 个错误、\(s.totals.warnings) 个警告未解决）。"
                                      : "No new errors (\(s.totals.errors) errors, \(s.totals.warnings) warnings still open)."
        case .clean: verdict = language == .zh ? "没有错误。" : "No errors."
        case .dataErrors: verdict = language == .zh ? "发现 \(s.totals.errors) 个错误、\(s.totals.warnings) 个警告。" : "\(s.totals.errors) errors, \(s.totals.warnings) warnings."
        case .unreadableInput: verdict = language == .zh ? "有文件无法读取；另有 \(s.totals.errors) 个错误。" : "Some inputs could not be read; \(s.totals.errors) errors."
        case .badRulesOrArguments, .outputFailed: verdict = ""
        }
        print(verdict + (language == .zh ? " 输出目录: \(result.outputDirectory)" : " Outputs: \(result.outputDirectory)"))
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }
}
