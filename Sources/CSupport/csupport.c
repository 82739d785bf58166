#define _GNU_SOURCE
#include <string.h>
#include <fcntl.h>
#include <stdio.h>
#include <errno.h>
#include <pthread.h>
#include "csupport.h"

#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
int schoolstat_exchange_paths(const char *a, const char *b) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
}
#else
int schoolstat_exchange_paths(const char *a, const char *b) {
    (void)a; (void)b;
    errno = ENOSYS;
    return -1;
}
#endif

#if defined(__linux__)
int schoolstat_start_writeback(int fd, int64_t offset, int64_t length) {
    return sync_file_range(fd, (off64_t)offset, (off64_t)length, SYNC_FILE_RANGE_WRITE);
}
#else
int schoolstat_start_writeback(int fd, int64_t offset, int64_t length) {
    (void)fd; (void)offset; (void)length;
    return 0;
}
#endif

int schoolstat_direct_flag(void) {
#if defined(O_DIRECT)
    return O_DIRECT;
#else
    return 0;
#endif
}

#if defined(__linux__)
#include <linux/falloc.h>
int schoolstat_release_range(int fd, int64_t offset, int64_t length) {
    return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)length);
}
#else
int schoolstat_release_range(int fd, int64_t offset, int64_t length) {
    (void)fd; (void)offset; (void)length;
    errno = ENOSYS;
    return -1;
}
#endif

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

int schoolstat_csv_needs_quotes(const uint8_t *p, size_t n) {
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i comma = _mm_set1_epi8(','), quote = _mm_set1_epi8('"'), lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, quote)),
                                   _mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr)));
        if (_mm_movemask_epi8(hit)) return 1;
    }
#endif
    for (; i < n; i++) {
        uint8_t b = p[i];
        if (b == ',' || b == '"' || b == '\n' || b == '\r') return 1;
    }
    return 0;
}

size_t schoolstat_next_quote(const uint8_t *p, size_t n) {
    const uint8_t *q = memchr(p, '"', n);
    return q ? (size_t)(q - p) : n;
}

size_t schoolstat_json_next_escape(const uint8_t *p, size_t n) {
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), control = _mm_set1_epi8(0x1F);
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                   _mm_cmpeq_epi8(_mm_max_epu8(v, control), control));
        int mask = _mm_movemask_epi8(hit);
        if (mask) return i + (size_t)__builtin_ctz((unsigned)mask);
    }
#endif
    for (; i < n; i++) {
        uint8_t b = p[i];
        if (b < 0x20 || b == '"' || b == '\\') return i;
    }
    return n;
}

#if defined(__GLIBC__)
#include <malloc.h>
void schoolstat_fix_allocator_threshold(void) {
    /* A fixed threshold turns off glibc's sliding one, which rises to the size of the
       largest block freed (the key sorter's runs, megabytes) and from then on keeps every
       smaller freed block in whichever thread's arena it came from. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    /* And up to 2 MiB freed at the top of a heap is kept for what comes next rather than
       returned at once: a batch's buffers, freed and allocated again on every batch, would
       otherwise be faulted in and zeroed page by page each time. Each thread's arena may keep
       that much, so it stays small: 32 MiB let a busy check hold some 300 MB more. */
    mallopt(M_TRIM_THRESHOLD, 2 << 20);
}
#else
void schoolstat_fix_allocator_threshold(void) {}
#endif

/* Bytes that can be part of an ID number as people type it: ASCII digits, and the separators
   the scrub allows between groups of digits (space, '-', and the bytes of U+00A0 C2 A0, U+3000
   E3 80 80 and U+FF0D EF BC 8D). */
static inline int schoolstat_id_byte(uint8_t c) {
    return (c >= '0' && c <= '9') || c == ' ' || c == '-' || c == 0xC2 || c == 0xA0 || c == 0xE3 || c == 0x80 ||
           c == 0xEF || c == 0xBC || c == 0x8D;
}

int schoolstat_may_hold_digit_run(const uint8_t *b, size_t n, size_t need) {
    if (need == 0) return 1;
    // `need` digits, grouped or not, make a run of at least `need` such bytes, which covers one of
    // every `need`-th byte: look at those, and around the few that can belong to one.
    size_t i = need - 1;
    while (i < n) {
        if (!schoolstat_id_byte(b[i])) { i += need; continue; }
        size_t start = i, end = i + 1, digits = 0;
        while (start > 0 && schoolstat_id_byte(b[start - 1])) start--;
        while (end < n && schoolstat_id_byte(b[end])) end++;
        if (end - start >= need) {
            for (size_t k = start; k < end && digits < need; k++) digits += (b[k] >= '0' && b[k] <= '9');
            if (digits >= need) return 1;
        }
        i = end + need;
    }
    // A full-width digit (EF BC 90-99) anywhere: the caller looks closer (rare in any text).
    const uint8_t *p = b, *stop = b + n;
    while (p + 2 < stop && (p = memchr(p, 0xEF, (size_t)(stop - p - 2))) != NULL) {
        if (p[1] == 0xBC && p[2] >= 0x90 && p[2] <= 0x99) return 1;
        p++;
    }
    return 0;
}

#if defined(__linux__)
#include <sys/resource.h>
#endif
void schoolstat_yield_thread(void) {
#if defined(__linux__)
    /* Linux gives each thread a nice value of its own. At 10 a thread competing with one of
       the default 0 for a core gets about a tenth of it; on an idle core, all of it. */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
#endif
}

void schoolstat_name_thread(const char *name) {
#if defined(__linux__)
    char shortName[16];
    snprintf(shortName, sizeof shortName, "%s", name);
    pthread_setname_np(pthread_self(), shortName);
#else
    (void)name;
#endif
}

#include <spawn.h>
#include <signal.h>
#include <sys/types.h>
extern char **environ;

int schoolstat_spawn(int *pid, const char *path, char *const argv[], char *const envp[], const char *directory,
                     const char *input, const char *output, const char *errors) {
    /* A child is waited for by its id: were SIGCHLD ignored in this process (inherited from
       whatever started it), the system would take each child's end itself and no one could
       learn how it ended. */
    struct sigaction child_signal;
    if (sigaction(SIGCHLD, NULL, &child_signal) == 0
        && (child_signal.sa_handler == SIG_IGN || (child_signal.sa_flags & SA_NOCLDWAIT))) {
        struct sigaction standard;
        memset(&standard, 0, sizeof standard);
        standard.sa_handler = SIG_DFL;
        sigemptyset(&standard.sa_mask);
        sigaction(SIGCHLD, &standard, NULL);
    }
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int failed = posix_spawn_file_actions_init(&actions);
    if (failed) return failed;
    failed = posix_spawnattr_init(&attributes);
    if (failed) { posix_spawn_file_actions_destroy(&actions); return failed; }
    const int writing = O_WRONLY | O_CREAT | O_TRUNC;
    if (!failed) failed = posix_spawn_file_actions_addopen(&actions, 0, input ? input : "/dev/null", O_RDONLY, 0);
    if (!failed) failed = posix_spawn_file_actions_addopen(&actions, 1, output ? output : "/dev/null", output ? writing : O_WRONLY, 0600);
    if (!failed) failed = posix_spawn_file_actions_addopen(&actions, 2, errors ? errors : "/dev/null", errors ? writing : O_WRONLY, 0600);
    /* The parent's other descriptors (sockets, files being written) are not the child's; where
       the system cannot promise that, no child is started. */
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    if (!failed) failed = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (!failed && directory) failed = posix_spawn_file_actions_addchdir_np(&actions, directory);
#elif defined(__APPLE__)
    flags |= POSIX_SPAWN_CLOEXEC_DEFAULT;
    if (!failed && directory) failed = posix_spawn_file_actions_addchdir_np(&actions, directory);
#else
    if (!failed) failed = ENOSYS;
#endif
    /* A signal the parent ignores or blocks (as whatever started it may have left SIGPIPE) is
       the child's as usual. */
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int sig = 1; sig < 32; sig++) if (sig != SIGKILL && sig != SIGSTOP) sigaddset(&defaults, sig);
    if (!failed) failed = posix_spawnattr_setsigmask(&attributes, &none);
    if (!failed) failed = posix_spawnattr_setsigdefault(&attributes, &defaults);
    if (!failed) failed = posix_spawnattr_setflags(&attributes, flags);
    pid_t child = 0;
    if (!failed) failed = posix_spawn(&child, path, &actions, &attributes, argv, envp ? envp : environ);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    if (!failed) *pid = (int)child;
    return failed;
}
