#include "CPlatform.h"

#if defined(__linux__)
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

// jemalloc's control interface, looked up at run time: linked in (see Package.swift), it replaces
// glibc's malloc for the whole process, librdkafka and SQLite included.
typedef int (*mallctl_function)(const char *, void *, size_t *, void *, size_t);

static mallctl_function jemalloc_mallctl(void) {
    return (mallctl_function)dlsym(RTLD_DEFAULT, "mallctl");
}

void crm_memory_keep_freed_heap(void) {
    // jemalloc keeps freed pages for reuse by itself and returns them after a delay (tried: keeping
    // them for the whole replay halved its madvise calls and changed nothing measurable).
    if (jemalloc_mallctl()) return;
    // glibc trims the heap top (and per-thread heaps) once 128 KiB are free; a replay frees and
    // reallocates tens of MiB per batch, and every re-grown page is zero-filled by the kernel.
    mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);
    mallopt(M_TOP_PAD, 64 * 1024 * 1024);
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
}

void crm_memory_release_free_heap(void) {
    mallctl_function mallctl = jemalloc_mallctl();
    if (mallctl) {
        mallctl("arena.4096.purge", NULL, NULL, NULL, 0);  // 4096: MALLCTL_ARENAS_ALL
    } else {
        malloc_trim(0);
    }
}

static char allocator_name[64] = "glibc malloc";

static void name_allocator(void) {
    mallctl_function mallctl = jemalloc_mallctl();
    if (!mallctl) return;
    const char *version = NULL;
    size_t size = sizeof version;
    if (mallctl("version", &version, &size, NULL, 0) != 0 || !version) version = "(version unknown)";
    snprintf(allocator_name, sizeof allocator_name, "jemalloc %s", version);
}

const char *crm_memory_allocator(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, name_allocator);
    return allocator_name;
}
#else
void crm_memory_keep_freed_heap(void) {}
void crm_memory_release_free_heap(void) {}
const char *crm_memory_allocator(void) { return "system malloc"; }
#endif
