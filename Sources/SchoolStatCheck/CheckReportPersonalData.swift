// Check: the report as it leaves the check — on the page, in `check --format json`, in the
// listing and on the annotated workbook's problem sheet — with every text through the one
// ID-number scrub: file names, headings, column names, values, messages, the rows shown.
import SchoolStatBytes

extension CheckReport {
    /// One problem with ID numbers masked in every text it holds.
    public static func scrubbed(_ problem: CheckProblem) -> CheckProblem {
        func s(_ text: String) -> String { IDNumber.scrub(text) }
        var p = problem
        p.file = s(p.file); p.column = s(p.column); p.heading = s(p.heading); p.value = s(p.value)
        p.messageZh = s(p.messageZh); p.messageEn = s(p.messageEn); p.recordKey = s(p.recordKey)
        p.sheet = s(p.sheet); p.placeZh = s(p.placeZh); p.placeEn = s(p.placeEn)
        return p
    }

    /// This report with ID numbers masked in every text it holds.
    public func scrubbed() -> CheckReport {
        func s(_ text: String) -> String { IDNumber.scrub(text) }
        var report = self
        report.files = files.map { f in
            var f = f
            f.file = s(f.file); f.sheet = s(f.sheet)
            return f
        }
        report.problems = problems.map(Self.scrubbed)
        report.headers = Dictionary(headers.map { (s($0.key), $0.value.map(s)) }, uniquingKeysWith: { a, _ in a })
        report.rows = rows.map { r in
            var r = r
            r.file = s(r.file); r.sheet = s(r.sheet)
            r.cells = r.cells.map(s)
            return r
        }
        report.notesZh = notesZh.map(s)
        report.notesEn = notesEn.map(s)
        return report
    }
}
