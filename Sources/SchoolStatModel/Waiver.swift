// Model (rules): waivers — findings a county has accepted, with the reason and an
// expiry date. A waived finding stays in the ledger, marked, and does not
// fail the run; an expired waiver no longer applies and is itself reported.
import Foundation

public struct Waiver: Sendable {
    public init(rule: String, key: String, reason: String, expires: Day, rectification: String? = nil, location: SourceLocation) {
        self.rule = rule; self.key = key; self.reason = reason; self.expires = expires; self.rectification = rectification; self.location = location
    }

    public var rule: String
    /// The ledger's record key (`school_code=3150010001`), or `*` for every entity.
    public var key: String
    public var reason: String
    public var expires: Day
    /// How the problem is being put right; a waiver with one counts as rectification (整改).
    public var rectification: String?
    public var location: SourceLocation
}
