#ifndef CRM_MEMORY_TUNING_H
#define CRM_MEMORY_TUNING_H

/// Keeps freed heap memory for reuse instead of returning it to the kernel at every free, so a
/// replay that allocates and frees records in waves does not page-fault on fresh memory each time.
void crm_memory_keep_freed_heap(void);

/// Returns free heap memory to the kernel (after a replay has caught up).
void crm_memory_release_free_heap(void);

#endif
