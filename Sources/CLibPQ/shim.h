// libpq's declarations (Debian's libpq-dev). The library itself is loaded when the export first
// needs it (CSupport's pq_loader.c), not linked: see there.
#include <postgresql/libpq-fe.h>
