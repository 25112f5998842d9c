import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// A parsed XML element (namespaces stripped from names), built with Foundation's `XMLParser`.
/// Used for query-protocol responses (`<CreateTopicResponse>…`) and XML error bodies.
public struct XMLElementNode: Sendable, Equatable {
    /// Local name, without a namespace prefix.
    public var name: String
    public var children: [XMLElementNode]
    /// Concatenated character data directly inside this element.
    public var text: String

    public init(name: String, children: [XMLElementNode] = [], text: String = "") {
        self.name = name
        self.children = children
        self.text = text
    }

    /// The first direct child named `name`.
    public func child(_ name: String) -> XMLElementNode? { children.first { $0.name == name } }

    /// All direct children named `name`.
    public func children(_ name: String) -> [XMLElementNode] { children.filter { $0.name == name } }

    /// Depth-first search for the first element named `name` (including self).
    public func firstDescendant(_ name: String) -> XMLElementNode? {
        if self.name == name { return self }
        for child in children {
            if let found = child.firstDescendant(name) { return found }
        }
        return nil
    }

    /// Follows a path of child names, e.g. `["CreateTopicResult", "TopicArn"]`.
    public func path(_ names: String...) -> XMLElementNode? {
        var node: XMLElementNode? = self
        for name in names { node = node?.child(name) }
        return node
    }

    /// Parses a document and returns its root element, or `nil` if it is not well-formed XML.
    public static func parse(_ data: Data) -> XMLElementNode? {
        let builder = Builder()
        let parser = XMLParser(data: data)
        parser.shouldProcessNamespaces = true
        parser.delegate = builder
        guard parser.parse() else { return nil }
        return builder.root
    }

    private final class Builder: NSObject, XMLParserDelegate {
        var stack: [XMLElementNode] = []
        var root: XMLElementNode?

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
            qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]
        ) {
            let local = elementName.split(separator: ":").last.map(String.init) ?? elementName
            stack.append(XMLElementNode(name: local))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += string
        }

        func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += String(decoding: CDATABlock, as: UTF8.self)
        }

        func parser(
            _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?,
            qualifiedName qName: String?
        ) {
            guard let node = stack.popLast() else { return }
            if stack.isEmpty {
                root = node
            } else {
                stack[stack.count - 1].children.append(node)
            }
        }
    }
}
