// Model: the bounds reading keeps to, whatever a file holds.

/// How large what one input holds may be before it is refused: bounds on memory and time that a
/// hostile or broken file cannot push past. The defaults are far above any real export.
public struct ReadLimits: Sendable {
    /// Bytes in one value: a CSV field, a workbook cell or shared string (default 1 MiB).
    public var fieldBytes: Int = 1 << 20
    /// Bytes in one CSV record (default 8 MiB).
    public var recordBytes: Int = 8 << 20
    /// Fields in one CSV record (default 16,384, Excel's column count).
    public var fields: Int = 16_384
    /// Bytes inflated from one workbook (default 2 GiB).
    public var inflatedBytes: Int = 2 << 30
    /// Inflated bytes per compressed byte, once a workbook part passes `ratioFloor` bytes: a zip
    /// bomb's ratio is in the thousands, a real sheet's rarely above 30.
    public var ratio: Int = 100
    public var ratioFloor: Int = 32 << 20
    /// Bytes of the small parts read whole (workbook.xml, its relations).
    public static let smallPartBytes = 16 << 20

    public init() {}
}
