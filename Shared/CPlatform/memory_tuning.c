#include "CPlatform.h"

#if defined(__GLIBC__)
#include <malloc.h>

void crm_memory_keep_freed_heap(void) {
    // glibc trims the heap top (and per-thread heaps) once 128 KiB are free; a replay frees and
    // reallocates tens of MiB per batch, and every re-grown page is zero-filled by the kernel.
    mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);
    mallopt(M_TOP_PAD, 64 * 1024 * 1024);
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
}

void crm_memory_release_free_heap(void) { malloc_trim(0); }
#else
void crm_memory_keep_freed_heap(void) {}
void crm_memory_release_free_heap(void) {}
#endif
