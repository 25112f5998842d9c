import Testing

@testable import OrdlogShared

@Suite struct HexTests {
    @Test("hex: lowercase out; either case in; odd length or a non-hex character is nil")
    func roundTrip() {
        #expect(Hex.encode([0x00, 0x0f, 0xa5, 0xff]) == "000fa5ff")
        #expect(Hex.decode("000fa5ff") == [0x00, 0x0f, 0xa5, 0xff])
        #expect(Hex.decode("000FA5FF") == [0x00, 0x0f, 0xa5, 0xff])
        #expect(Hex.decode("") == [])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("0g") == nil)
        #expect(Hex.decode("+1") == nil)  // UInt8(_:radix:) would have taken a sign
        #expect(Hex.decode(" 1") == nil)
    }
}
