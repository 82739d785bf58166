// The address-space ceiling a check run by the page is given.
import ArgumentParser
import Foundation
import Synchronization
import SchoolStatModel
import SchoolStatBytes
import SchoolStatPipeline
import SchoolStatCheck
import SchoolStatServer

/// A ceiling on this process's address space: past it an allocation fails and the process ends,
/// rather than the machine running short. Set by the page for each check it runs.
enum MemoryCeiling {
    static func set(megabytes: Int) {
        let bytes = rlim_t(megabytes) << 20
        var limit = rlimit(rlim_cur: bytes, rlim_max: bytes)
        _ = setrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit)
    }
}
