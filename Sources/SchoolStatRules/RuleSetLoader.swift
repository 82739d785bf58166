// Rules (schema): loads Rules/ — vocabulary, parameters and table schemas — checking
// every file completely before any data is read.
import Foundation
import Yams
import SchoolStatModel
import SchoolStatBytes

public enum RuleSetLoader {
    /// Loads the rule directory. Throws `RuleFileErrors` listing every mistake found. The packs'
    /// expressions are parsed here and compiled against the schemas by `LoadedRules.load`
    /// (SchoolStatPipeline), which every command uses, so that every mistake is reported before
    /// data is read.
    /// Parameters are layered: parameters.yaml, then each pack's defaults, then
    /// the chosen profile (`national` when none is named and it exists), then
    /// the command line.
    public static func load(directory: String, profile profileName: String? = nil, parameterOverrides: [String: String] = [:]) throws(RuleFileErrors) -> RuleSet {
        var errors: [RuleFileError] = []
        var files: [(String, String)] = []
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw RuleFileErrors(errors: [RuleFileError(location: SourceLocation(path: directory, line: 1, column: 1),
                                                        message: "规则目录不存在 (rules directory not found)；请用 --rules 指定 Rules/ 目录")])
        }

        // Every file is read, hashed and parsed up front, on as many threads as there are cores
        // (each file is a document of its own), and taken below in the order it is loaded, which
        // is the order of `files` and of the errors.
        // Each folder is listed once: what is prepared is what is loaded.
        let yamlNames: (String) -> [String] = { folder in
            ((try? fm.contentsOfDirectory(atPath: (directory as NSString).appendingPathComponent(folder))) ?? [])
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { folder + "/" + $0 }
        }
        let packFiles = yamlNames("packs"), profileFiles = yamlNames("profiles"), schemaFiles = yamlNames("schemas")
        let prepared = PreparedFiles(directory: directory, relativePaths: ["vocabulary.yaml", "parameters.yaml"]
                                        + packFiles + profileFiles + schemaFiles)
        // The parsed trees are released on another thread once the rules are built from them.
        defer { prepared.releaseInBackground() }

        func read(_ relative: String) -> (YAMLDocument, Node?)? {
            guard let file = prepared.take(relative) else { return nil }
            guard let digest = file.digest else {
                errors += file.document.errors
                return nil
            }
            files.append((file.document.path, digest))
            return (file.document, file.root)
        }

        var vocabulary = Vocabulary()
        if let (doc, root) = read("vocabulary.yaml") {
            vocabulary = loadVocabulary(doc, root)
            errors += doc.errors
        } else {
            errors.append(RuleFileError(location: SourceLocation(path: directory + "/vocabulary.yaml", line: 1, column: 1), message: "缺少 vocabulary.yaml (missing)"))
        }

        var parameters: [String: Value] = [:]
        if let (doc, root) = read("parameters.yaml") {
            for (key, _, node) in doc.mapping(root, context: "parameters.yaml") {
                guard let value = doc.parameter(node, context: key) else { continue }
                parameters[key] = value
            }
            errors += doc.errors
        }
        var packs: [RulePack] = []
        var profiles: [Profile] = []
        for (relativePaths, isPack) in [(packFiles, true), (profileFiles, false)] {
            for relative in relativePaths {
                guard let (doc, root) = read(relative) else { continue }
                if isPack {
                    if let pack = RulePackLoader.loadPack(doc, root) {
                        for v in pack.versions {
                            for k in v.parameters.keys where pack.parameters[k] == nil {
                                doc.failAt(v.location, "版本 \(v.version) 设置了包中未定义的参数 `\(k)` (parameter not defined by the pack)")
                            }
                        }
                        packs.append(pack)
                    }
                } else if let p = RulePackLoader.loadProfile(doc, root) {
                    profiles.append(p)
                }
                errors += doc.errors
            }
        }
        // Each pack as it applies to the reporting year (parameters.yaml or --as-of).
        var yearParameters = parameters
        for (key, text) in parameterOverrides { yearParameters[key] = ParameterText.parse(text) }
        let year = RuleSet(vocabulary: vocabulary, parameters: yearParameters, tables: [], files: []).reportYear
        let inactive = packs.filter { $0.applying(to: year) == nil }.map(\.name)
        packs = packs.compactMap { $0.applying(to: year) }
        for pack in packs {
            for (k, v) in pack.parameters where parameters[k] == nil { parameters[k] = v }
        }
        var chosen: Profile?
        if let profileName {
            chosen = profiles.first { $0.name == profileName }
            if chosen == nil {
                errors.append(RuleFileError(location: SourceLocation(path: directory + "/profiles", line: 1, column: 1),
                                            message: "没有名为 `\(profileName)` 的地区参数 (unknown profile)；可用: \(profiles.map(\.name).sorted().joined(separator: ", "))"))
            }
        } else {
            chosen = profiles.first { $0.name == "national" }
        }
        // Every profile may set only parameters that parameters.yaml or a pack defines.
        for profile in profiles {
            for k in profile.parameters.keys.sorted() where parameters[k] == nil {
                errors.append(RuleFileError(location: SourceLocation(path: profile.path, line: 1, column: 1),
                                            message: "地区参数 \(profile.name) 设置了未定义的参数 `\(k)` (sets a parameter no rule defines)"))
            }
        }
        if let chosen {
            for (k, v) in chosen.parameters { parameters[k] = v }
        }
        for (key, text) in parameterOverrides {
            parameters[key] = ParameterText.parse(text)
        }

        var tables: [TableSchema] = []
        if schemaFiles.isEmpty {
            errors.append(RuleFileError(location: SourceLocation(path: (directory as NSString).appendingPathComponent("schemas"), line: 1, column: 1),
                                        message: "没有找到表结构文件 schemas/*.yaml (no schema files)"))
        }
        for relative in schemaFiles {
            guard let (doc, root) = read(relative) else { continue }
            if let table = SchemaLoader(document: doc, vocabulary: vocabulary, parameters: parameters).load(root) {
                if let other = tables.first(where: { $0.name == table.name }) {
                    doc.failAt(SourceLocation(path: doc.path, line: 1, column: 1), "表名 \(table.name) 已在 \(other.path) 中定义 (table defined twice)")
                } else {
                    tables.append(table)
                }
            }
            errors += doc.errors
        }
        if !errors.isEmpty { throw RuleFileErrors(errors: errors) }
        var ruleSet = RuleSet(vocabulary: vocabulary, parameters: parameters, tables: tables, files: files)
        ruleSet.packs = packs
        ruleSet.inactivePacks = inactive
        ruleSet.profiles = profiles
        ruleSet.profile = chosen?.name
        return ruleSet
    }

    /// Rule files read, hashed and parsed on several threads at once, each taken once.
    private final class PreparedFiles: @unchecked Sendable {
        struct File {
            var document: YAMLDocument
            /// The SHA-256 of its bytes; nil when it could not be read (its document says why).
            var digest: String?
            var root: Node?
        }

        private var files: [String: File] = [:]
        private var kept: [File] = []

        init(directory: String, relativePaths: [String]) {
            // One slot per file, each written by one thread.
            let results = Slots(UnsafeMutableBufferPointer<File?>.allocate(capacity: relativePaths.count))
            results.buffer.initialize(repeating: nil)
            defer { results.buffer.deallocate() }
            Threads.forEach(relativePaths.count, threads: ProcessInfo.processInfo.activeProcessorCount) { i in
                let path = (directory as NSString).appendingPathComponent(relativePaths[i])
                guard FileManager.default.fileExists(atPath: path) else { return }
                let doc = YAMLDocument(path: path)
                guard let (text, bytes) = doc.readText() else {
                    results.buffer[i] = File(document: doc, digest: nil, root: nil)
                    return
                }
                var hasher = SHA256()
                hasher.update(bytes)
                let digest = hasher.finalHex()
                results.buffer[i] = File(document: doc, digest: digest, root: doc.compose(text))
            }
            for (i, relative) in relativePaths.enumerated() {
                if let file = results.buffer[i] { files[relative] = file }
            }
            _ = results.buffer.deinitialize()
        }

        private struct Slots: @unchecked Sendable {
            let buffer: UnsafeMutableBufferPointer<File?>
            init(_ buffer: UnsafeMutableBufferPointer<File?>) { self.buffer = buffer }
        }

        private final class Trees: @unchecked Sendable {
            var nodes: [Node?]
            init(_ nodes: [Node?]) { self.nodes = nodes }
        }

        /// The file at `relative`, once; nil when there is none.
        func take(_ relative: String) -> File? {
            guard let file = files.removeValue(forKey: relative) else { return nil }
            kept.append(file)
            return file
        }

        /// Hands the parsed trees to another thread, which releases them: a tree of a few thousand
        /// nodes takes as long to free as to build.
        func releaseInBackground() {
            let trees = Trees(kept.map(\.root) + files.values.map(\.root))
            kept = []
            files = [:]
            if !Threads.start(name: "schoolstat-free", { trees.nodes = [] }) { trees.nodes = [] }
        }
    }

    private static func loadVocabulary(_ doc: YAMLDocument, _ root: Node?) -> Vocabulary {
        var v = Vocabulary()
        for (key, keyNode, node) in doc.mapping(root, context: "vocabulary.yaml", allowed: ["booleans", "missing", "units"]) {
            switch key {
            case "booleans":
                for (k, kn, list) in doc.mapping(node, context: "booleans", allowed: ["true", "false"]) {
                    let written = doc.strings(list, context: "booleans.\(k)")
                    for w in written { v.exactBooleans[w] = k == "true" }
                    let words = Set(written.map(TextCleaner.matchKey))
                    if k == "true" { v.trueWords = words } else { v.falseWords = words }
                    if words.isEmpty { doc.fail(kn, "booleans.\(k) 不能为空 (must list at least one spelling)") }
                }
            case "missing":
                v.missingWords = Set(doc.strings(node, context: "missing").map(TextCleaner.matchKey))
            case "units":
                for (name, _, spec) in doc.mapping(node, context: "units") {
                    var kind = UnitKind(name: name, canonical: name, scales: [:])
                    for (k, kn, value) in doc.mapping(spec, context: "units.\(name)", allowed: ["canonical", "scales"]) {
                        if k == "canonical" { kind.canonical = doc.string(value, context: "canonical") ?? name; continue }
                        for (written, wn, power) in doc.mapping(value, context: "units.\(name).scales") {
                            guard let p = doc.int(power, context: "units.\(name).scales.\(written)：单位 \(written) 的十的幂 (power of ten)", in: UnitKind.powers) else { continue }
                            kind.scales[TextCleaner.matchKey(written)] = p
                            _ = wn
                        }
                        _ = kn
                    }
                    v.units[name] = kind
                }
            default:
                doc.fail(keyNode, "unknown key")
            }
        }
        return v
    }
}
