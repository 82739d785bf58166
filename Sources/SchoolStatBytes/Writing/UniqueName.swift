// Bytes (writing): names for the run's own working files and directories.
import Foundation

public enum UniqueName {
    /// A random name without digits: a UUID with each digit written as a letter (0–9 as g–p).
    /// A UUID's hex groups are sometimes all digits, and digits in a row, even across hyphens,
    /// are masked as an ID number wherever a path is shown: a message naming a working file
    /// would then name it masked, and a clerk's file name put in place of the path would miss.
    public static func make() -> String {
        String(UUID().uuidString.unicodeScalars.map { c in
            c.value >= 0x30 && c.value <= 0x39 ? Character(Unicode.Scalar(c.value - 0x30 + 0x67)!) : Character(c)
        })
    }
}
