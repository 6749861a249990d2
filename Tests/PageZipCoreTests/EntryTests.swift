import PageZipCore
import Testing

@Suite struct EntryTests {
    @Test func storedEntryKeepsEveryField() {
        let e = Entry.stored(handle: 0xDEAD_BEEF, length: 3071, group: 0xFFFE, raw: false, hot: true)
        #expect(e.isStored && !e.isStoring && !e.isEmpty)
        #expect(e.handle == 0xDEAD_BEEF)
        #expect(e.length == 3071)
        #expect(e.group == 0xFFFE)
        #expect(e.isHot && !e.isRaw && !e.isZeroPage)
        #expect(e.objectLength == 3071)
    }

    @Test func zeroAndRawPages() {
        let z = Entry.zero(group: 7)
        #expect(z.isStored && z.isZeroPage && z.objectLength == 0 && z.group == 7)
        let r = Entry.stored(handle: 1, length: 0, group: 2, raw: true)
        #expect(r.isRaw && !r.isZeroPage && r.objectLength == 4096)
    }

    @Test func storingEntryNamesItsSlot() {
        let s = Entry.storing(slot: 63, group: 9)
        #expect(s.isStoring && s.slot == 63 && s.group == 9 && !s.isStored)
        #expect(Entry.empty.isEmpty && Entry.empty.bits == 0)
    }
}
