import CPlatform

/// The process's allocator, as `CPlatform` links and tunes it (jemalloc; glibc's malloc only when
/// jemalloc is missing, which a test refuses).
public enum Memory {
    /// The allocator serving malloc in this process (`jemalloc 5.3.0-…` when linked in as intended).
    public static var allocator: String { String(cString: crm_memory_allocator()) }

    /// Keeps freed heap memory for reuse while a replay allocates and frees records in waves.
    public static func keepFreedHeap() { crm_memory_keep_freed_heap() }

    /// Returns free heap memory to the kernel (once a replay has caught up).
    public static func releaseFreeHeap() { crm_memory_release_free_heap() }
}
