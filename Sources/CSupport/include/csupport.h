#ifndef SCHOOLSTAT_CSUPPORT_H
#define SCHOOLSTAT_CSUPPORT_H

/// Atomically exchanges two paths (Linux renameat2 with RENAME_EXCHANGE).
/// Returns 0 on success, -1 with errno set otherwise.
int schoolstat_exchange_paths(const char *a, const char *b);

#endif
