import Platform
import Testing

@Suite struct AllocatorTests {
    /// Every executable (this test binary too) links jemalloc ahead of the C library, so it serves
    /// malloc for the whole process; if the link order or the package goes wrong, this says so.
    @Test func jemallocServesMalloc() {
        #if os(Linux)
            let name = Memory.allocator
            #expect(name.hasPrefix("jemalloc 5."), "allocator: \(name)")
        #endif
    }
}
