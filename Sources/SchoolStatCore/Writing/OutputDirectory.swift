// Writing: a run's outputs appear all at once or not at all.
import CSupport
import Foundation

/// Stages a run's files in a hidden sibling directory and swaps it into place
/// when the run completes.
///
/// A crash or kill before `commit()` leaves the previous outputs untouched;
/// the stale staging directory is removed by the next run. The swap uses
/// Linux's `renameat2(RENAME_EXCHANGE)`, so there is no moment at which the
/// output directory is missing.
public final class OutputDirectory {
    public let finalPath: String
    public let stagingPath: String
    private var committed = false

    public init(path: String) throws(WriteError) {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        finalPath = url.path
        let parent = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } catch {
            throw WriteError(path: parent, reason: "\(error.localizedDescription)")
        }
        // Remove staging directories left by runs that were killed.
        let prefix = ".\(name).partial-"
        for entry in (try? fm.contentsOfDirectory(atPath: parent)) ?? [] where entry.hasPrefix(prefix) {
            let pidText = entry.dropFirst(prefix.count).prefix { $0.isNumber }
            if let pid = Int32(pidText), pid != getpid(), kill(pid, 0) == 0 { continue } // another live run
            try? fm.removeItem(atPath: parent + "/" + entry)
        }
        stagingPath = parent + "/" + prefix + "\(getpid())"
        try? fm.removeItem(atPath: stagingPath)
        do {
            try fm.createDirectory(atPath: stagingPath, withIntermediateDirectories: false)
        } catch {
            throw WriteError(path: stagingPath, reason: "\(error.localizedDescription)")
        }
    }

    public func path(_ relative: String) -> String { stagingPath + "/" + relative }

    public func makeSubdirectory(_ name: String) throws(WriteError) {
        do {
            try FileManager.default.createDirectory(atPath: path(name), withIntermediateDirectories: true)
        } catch {
            throw WriteError(path: path(name), reason: "\(error.localizedDescription)")
        }
    }

    /// Puts the staged outputs in place of the previous ones.
    public func commit() throws(WriteError) {
        let fm = FileManager.default
        if !fm.fileExists(atPath: finalPath) {
            guard rename(stagingPath, finalPath) == 0 else { throw WriteError(path: finalPath, reason: String(cString: strerror(errno))) }
        } else if schoolstat_exchange_paths(stagingPath, finalPath) == 0 {
            try? fm.removeItem(atPath: stagingPath) // now holds the previous run
        } else {
            // Filesystems without RENAME_EXCHANGE: two renames, the old copy kept until the new one is in place.
            let previous = stagingPath + ".previous"
            guard rename(finalPath, previous) == 0 else { throw WriteError(path: finalPath, reason: String(cString: strerror(errno))) }
            guard rename(stagingPath, finalPath) == 0 else {
                _ = rename(previous, finalPath)
                throw WriteError(path: finalPath, reason: String(cString: strerror(errno)))
            }
            try? fm.removeItem(atPath: previous)
        }
        committed = true
    }

    /// Removes the staging directory of a run that will not commit.
    public func abandon() {
        if !committed { try? FileManager.default.removeItem(atPath: stagingPath) }
    }
}
