#include "CPlatform.h"

#if defined(__linux__)
#include <sys/prctl.h>
#endif

void crm_set_thread_name(const char *name) {
#if defined(__linux__)
    prctl(PR_SET_NAME, name, 0, 0, 0);
#else
    (void)name;
#endif
}
