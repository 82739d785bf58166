// Bytes (reading): libxml2's SAX2 push parser, fed a workbook part chunk by chunk as it is inflated,
// so that no part is ever held whole. Made for hostile input: a document type declaration or an
// entity other than the five predefined ones stops the parse, nothing is fetched from the
// network, and libxml2's own limits on names and text nodes stay on.
import CLibXML2
import SchoolStatModel

/// One start tag's attributes, valid during the callback only.
public struct XMLAttributes {
    public init(pointer: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?, count: Int) {
        self.pointer = pointer; self.count = count
    }

    fileprivate let pointer: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?
    fileprivate let count: Int

    /// The value of the attribute with local name `name` (ASCII), if present.
    public func value(_ name: StaticString) -> [UInt8]? {
        guard let pointer else { return nil }
        for i in 0..<count {
            guard let local = pointer[5 * i], let start = pointer[5 * i + 3], let end = pointer[5 * i + 4] else { continue }
            if XMLPushParser.equals(local, name) {
                return Array(UnsafeBufferPointer(start: start, count: end - start))
            }
        }
        return nil
    }
}

/// Receives a part's events.
public protocol XMLEventHandler: AnyObject {
    /// `name` is the element's local name (no prefix). Return a reason to stop the parse.
    func start(_ name: UnsafePointer<xmlChar>, _ attributes: XMLAttributes) -> String?
    func end(_ name: UnsafePointer<xmlChar>) -> String?
    func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String?
}

/// Why a part could not be read to its end.
public struct XMLFailure: Error {
    public init(line: Int, column: Int, message: String) {
        self.line = line; self.column = column; self.message = message
    }

    public var line: Int
    public var column: Int
    public var message: String
}

public final class XMLPushParser {
    private var context: xmlParserCtxtPtr?
    private unowned let handler: any XMLEventHandler
    /// Set by a handler (a limit passed, a damaged cell) or by this class (a DTD, an entity).
    private var stopReason: String?
    private var finished = false

    public init(handler: any XMLEventHandler, name: String) {
        self.handler = handler
        var sax = xmlSAXHandler()
        sax.initialized = UInt32(XML_SAX2_MAGIC)
        sax.startElementNs = { ctx, localname, _, _, _, _, attributeCount, _, attributes in
            guard let ctx, let localname else { return }
            let me = Unmanaged<XMLPushParser>.fromOpaque(ctx).takeUnretainedValue()
            me.check(me.handler.start(localname, XMLAttributes(pointer: attributes, count: Int(attributeCount))))
        }
        sax.endElementNs = { ctx, localname, _, _ in
            guard let ctx, let localname else { return }
            let me = Unmanaged<XMLPushParser>.fromOpaque(ctx).takeUnretainedValue()
            me.check(me.handler.end(localname))
        }
        let characters: charactersSAXFunc = { ctx, bytes, length in
            guard let ctx, let bytes, length > 0 else { return }
            let me = Unmanaged<XMLPushParser>.fromOpaque(ctx).takeUnretainedValue()
            me.check(me.handler.text(UnsafeBufferPointer(start: bytes, count: Int(length))))
        }
        sax.characters = characters
        sax.cdataBlock = characters
        // No document type declarations, hence no entities of the document's own: a workbook part
        // never has one, and a hostile one (billion laughs) is refused before it is expanded.
        sax.internalSubset = { ctx, _, _, _ in
            guard let ctx else { return }
            Unmanaged<XMLPushParser>.fromOpaque(ctx).takeUnretainedValue()
                .check("含有文档类型声明（DOCTYPE），工作簿中不应出现 (a document type declaration, which workbooks never have)")
        }
        sax.getEntity = { ctx, _ in
            if let ctx {
                Unmanaged<XMLPushParser>.fromOpaque(ctx).takeUnretainedValue()
                    .check("引用了未定义的实体 (a reference to an undefined entity)")
            }
            return nil
        }
        // Errors are read from the context when the parse fails; nothing is printed.
        sax.serror = { _, _ in }
        context = withUnsafeMutablePointer(to: &sax) { sax in
            xmlCreatePushParserCtxt(sax, Unmanaged.passUnretained(self).toOpaque(), nil, 0, name)
        }
        if let context {
            xmlCtxtUseOptions(context, Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue))
        }
    }

    deinit {
        if let context {
            xmlFreeDoc(context.pointee.myDoc)
            xmlFreeParserCtxt(context)
        }
    }

    private func check(_ reason: String?) {
        guard let reason, stopReason == nil else { return }
        stopReason = reason
        if let context { xmlStopParser(context) }
    }

    /// Parses the next bytes of the part; throws at the first error.
    public func feed(_ bytes: UnsafeRawBufferPointer) throws(XMLFailure) {
        try parse(bytes, terminate: false)
    }

    /// Tells the parser the part is complete: an element left open is an error here.
    public func finish() throws(XMLFailure) {
        guard !finished else { return }
        finished = true
        try parse(UnsafeRawBufferPointer(start: nil, count: 0), terminate: true)
    }

    private func parse(_ bytes: UnsafeRawBufferPointer, terminate: Bool) throws(XMLFailure) {
        guard let context else { throw XMLFailure(line: 0, column: 0, message: "libxml2 无法创建解析器 (libxml2 could not create a parser)") }
        var offset = 0
        repeat {
            // xmlParseChunk takes an Int32 length: feed large buffers in slices.
            let n = min(bytes.count - offset, 1 << 20)
            let base = bytes.baseAddress.map { $0.advanced(by: offset).assumingMemoryBound(to: CChar.self) }
            let status = xmlParseChunk(context, base, Int32(n), terminate && offset + n == bytes.count ? 1 : 0)
            offset += n
            if let stopReason { throw XMLFailure(line: Int(xmlSAX2GetLineNumber(context)), column: Int(xmlSAX2GetColumnNumber(context)), message: stopReason) }
            if status != 0 || context.pointee.wellFormed == 0 {
                if let error = xmlCtxtGetLastError(context) {
                    let message = error.pointee.message.map { String(cString: $0) }?.trimmingSpaces() ?? "XML error \(status)"
                    throw XMLFailure(line: Int(error.pointee.line), column: Int(error.pointee.int2), message: message)
                }
                throw XMLFailure(line: Int(xmlSAX2GetLineNumber(context)), column: 0, message: "XML error \(status)")
            }
        } while offset < bytes.count
    }

    public static func equals(_ name: UnsafePointer<xmlChar>, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        let l = literal.utf8Start
        for i in 0..<n where name[i] != l[i] { return false }
        return name[n] == 0
    }
}
