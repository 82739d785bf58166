// Check: the report as it leaves the check — on the page, in `check --format json`, in the
// listing and on the annotated workbook's problem sheet — with every text through the one
// ID-number scrub: file names, headings, column names, values, messages, the rows shown.
import SchoolStatBytes

extension CheckReport {
    /// This report with ID numbers masked in every text it holds.
    public func scrubbed() -> CheckReport {
        func s(_ text: String) -> String { IDNumber.scrub(text) }
        var report = self
        report.files = files.map { f in
            var f = f
            f.file = s(f.file)
            return f
        }
        report.problems = problems.map { p in
            var p = p
            p.file = s(p.file); p.column = s(p.column); p.heading = s(p.heading); p.value = s(p.value)
            p.messageZh = s(p.messageZh); p.messageEn = s(p.messageEn); p.recordKey = s(p.recordKey)
            return p
        }
        report.headers = Dictionary(headers.map { (s($0.key), $0.value.map(s)) }, uniquingKeysWith: { a, _ in a })
        report.rows = rows.map { r in
            var r = r
            r.file = s(r.file)
            r.cells = r.cells.map(s)
            return r
        }
        return report
    }
}
