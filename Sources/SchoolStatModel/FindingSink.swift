// Model: where findings go.

/// Where findings go: the ledger, the summary counts and the console.
public protocol FindingSink: AnyObject {
    func record(_ entry: LedgerEntry)
}

/// What validating one batch produced. Committed in file order by `TableValidator`.
