// Model: where findings go.

/// Where findings go: the ledger, the summary counts and the console.
public protocol FindingSink: AnyObject {
    func record(_ entry: consuming LedgerEntry)
}
