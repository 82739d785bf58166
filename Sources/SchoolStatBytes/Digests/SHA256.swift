// Bytes (writing): SHA-256 of input files for the run summary, computed while reading.
import CSupport
import Dispatch
import SchoolStatModel

/// Incremental SHA-256 (FIPS 180-4). Whole blocks go through the CPU's SHA
/// instructions when it has them (`CSupport/sha256_x86.c`), else through the
/// portable compression below; both give the same digest.
public struct SHA256 {
    /// Whether this CPU has the SHA-256 instructions.
    public static let hardwareAvailable = schoolstat_sha256_hardware() != 0

    /// The round constants, from the C file that also holds the hardware path.
    nonisolated(unsafe) private static let k = UnsafeBufferPointer(start: schoolstat_sha256_constants(), count: 64)
    private var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    private var block = [UInt8](repeating: 0, count: 64)
    private var blockFill = 0
    private var length: UInt64 = 0
    /// Whether this hasher runs the CPU's SHA instructions.
    public let usesHardware: Bool

    /// `hardware: false` forces the portable code (to check one against the other).
    public init(hardware: Bool = SHA256.hardwareAvailable) {
        usesHardware = hardware && SHA256.hardwareAvailable
    }

    public mutating func update(_ data: UnsafeRawBufferPointer) {
        length &+= UInt64(data.count)
        var i = 0
        while i < data.count {
            if blockFill == 0 && data.count - i >= 64 {
                let blocks = (data.count - i) / 64
                compress(UnsafeRawBufferPointer(rebasing: data[i..<(i + 64 * blocks)]))
                i += 64 * blocks
                continue
            }
            let n = min(64 - blockFill, data.count - i)
            for j in 0..<n { block[blockFill + j] = data[i + j] }
            blockFill += n
            i += n
            if blockFill == 64 {
                let copy = block
                copy.withUnsafeBytes { compress($0) }
                blockFill = 0
            }
        }
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The digest as 64 lowercase hex digits.
    public mutating func finalHex() -> String {
        let bitLength = length &* 8
        var tail: [UInt8] = [0x80]
        let fill = (blockFill + 1) % 64
        tail += [UInt8](repeating: 0, count: fill <= 56 ? 56 - fill : 120 - fill)
        for s in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(s))) }
        let saved = length
        update(tail)
        length = saved
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for word in h {
            for s in stride(from: 28, through: 0, by: -4) { out.append(hex[Int((word >> UInt32(s)) & 0xF)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Compresses whole 64-byte blocks into the state.
    private mutating func compress(_ blocks: UnsafeRawBufferPointer) {
        if usesHardware {
            h.withUnsafeMutableBufferPointer { state in
                schoolstat_sha256_blocks(state.baseAddress!, blocks.baseAddress!.assumingMemoryBound(to: UInt8.self), blocks.count / 64)
            }
            return
        }
        for offset in stride(from: 0, to: blocks.count, by: 64) {
            compressPortably(UnsafeRawBufferPointer(rebasing: blocks[offset..<(offset + 64)]))
        }
    }

    private mutating func compressPortably(_ chunk: UnsafeRawBufferPointer) {
        @inline(__always) func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x &>> n) | (x &<< (32 &- n)) }
        var state = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
        let k = SHA256.k
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            for t in 0..<16 { w[t] = UInt32(bigEndian: chunk.loadUnaligned(fromByteOffset: 4 * t, as: UInt32.self)) }
            for t in 16..<64 {
                let a = w[t - 15], b = w[t - 2]
                let s0 = rotr(a, 7) ^ rotr(a, 18) ^ (a &>> 3)
                let s1 = rotr(b, 17) ^ rotr(b, 19) ^ (b &>> 10)
                w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, hh) = state
            for t in 0..<64 {
                let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
                let ch = (e & f) ^ (~e & g)
                let t1 = hh &+ s1 &+ ch &+ k[t] &+ w[t]
                let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
                let maj = (a & b) ^ (a & c) ^ (b & c)
                let t2 = s0 &+ maj
                hh = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ t2
            }
            state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d, state.4 &+ e, state.5 &+ f, state.6 &+ g, state.7 &+ hh)
        }
        h[0] = state.0; h[1] = state.1; h[2] = state.2; h[3] = state.3
        h[4] = state.4; h[5] = state.5; h[6] = state.6; h[7] = state.7
    }
}

/// SHA-256 computed on its own thread: the reading thread hands over copies of the
/// chunks it reads (at most four waiting) and gets the digest at the end.
public final class BackgroundDigest: @unchecked Sendable {
    public init() {}
    private var hasher = SHA256()
    private let queue = DispatchQueue(label: "schoolstat.digest")
    private let waiting = DispatchSemaphore(value: 4)

    public func update(_ chunk: UnsafeRawBufferPointer) {
        let copy = [UInt8](chunk)
        waiting.wait()
        queue.async {
            copy.withUnsafeBytes { self.hasher.update($0) }
            self.waiting.signal()
        }
    }

    /// Waits for the chunks handed over so far and returns the digest.
    public func finalHex() -> String {
        queue.sync { hasher.finalHex() }
    }
}

extension SHA256 {
    /// The digest of `bytes`, as 64 hex digits.
    public static func hexDigest(_ bytes: [UInt8]) -> String {
        var hasher = SHA256()
        bytes.withUnsafeBytes { hasher.update($0) }
        return hasher.finalHex()
    }
}
