#ifndef CRM_PLATFORM_H
#define CRM_PLATFORM_H

/// Keeps freed heap memory for reuse instead of returning it to the kernel at every free, so a
/// replay that allocates and frees records in waves does not page-fault on fresh memory each time.
void crm_memory_keep_freed_heap(void);

/// Returns free heap memory to the kernel (after a replay has caught up).
void crm_memory_release_free_heap(void);

/// The allocator serving malloc in this process ("jemalloc 5.3.0-…" when linked in as intended).
const char *crm_memory_allocator(void);

/// Names the calling thread as `top -H`, `perf` and debuggers show it (at most 15 bytes are kept).
void crm_set_thread_name(const char *name);

#endif
