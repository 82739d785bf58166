#ifndef SCHOOLSTAT_CSUPPORT_H
#define SCHOOLSTAT_CSUPPORT_H

#include <stddef.h>
#include <stdint.h>

/// Atomically exchanges two paths (Linux renameat2 with RENAME_EXCHANGE).
/// Returns 0 on success, -1 with errno set otherwise.
int schoolstat_exchange_paths(const char *a, const char *b);

/// Starts writing `length` bytes of `fd` from `offset` to disk without waiting for them
/// (Linux sync_file_range with SYNC_FILE_RANGE_WRITE; elsewhere it does nothing), so that
/// a later fsync has little left to wait for. Returns 0 on success.
int schoolstat_start_writeback(int fd, int64_t offset, int64_t length);

/// The open flag for writing past the page cache (Linux O_DIRECT), or 0 where
/// there is none.
int schoolstat_direct_flag(void);

/// Gives back to the system the pages holding `length` bytes of `fd` from `offset`, keeping the
/// file's size (Linux fallocate with FALLOC_FL_PUNCH_HOLE; elsewhere it does nothing and fails).
/// For a file of the run's own that has been read and is not needed again. Returns 0 on success.
int schoolstat_release_range(int fd, int64_t offset, int64_t length);

/// Lowers the calling thread's priority (on Linux, its own nice value): it runs at full speed on
/// a core nothing else wants and gives way to the process's other threads.
void schoolstat_yield_thread(void);

/// Names the calling thread (its first 15 bytes), as a debugger and `top -H` show it.
void schoolstat_name_thread(const char *name);

/// Starts the program at `path` (a full path; not searched for) as a child process, its id in
/// `*pid`. `argv` and `envp` end with NULL; `envp` NULL passes this process's environment.
/// `directory`, when not NULL, is the child's working directory. Its standard input reads
/// `input`, its standard output and error go to the files `output` and `errors` (created with
/// mode 0600, or emptied when they exist), each /dev/null when NULL. It has no other descriptor
/// of this process's (ENOSYS where the system cannot promise that), every signal at its default
/// action and none blocked. SIGCHLD, if this process ignores it, is put back to its default, so
/// that the child can be waited for. Returns 0, or the error number of what failed (the child
/// then does not run).
int schoolstat_spawn(int *pid, const char *path, char *const argv[], char *const envp[], const char *directory,
                     const char *input, const char *output, const char *errors);

/// Loads libpq (libpq.so.5) the first time it is asked, for the export to PostgreSQL: NULL once
/// it is loaded, or why it could not be (the dynamic loader's message). schoolstat calls libpq's
/// functions by their own names; they reach the library loaded here.
const char *schoolstat_pq_load(void);

/// 1 when the bytes hold a comma, double quote, LF or CR (a CSV field that needs quotes), else 0.
int schoolstat_csv_needs_quotes(const uint8_t *bytes, size_t count);

/// The index of the first double quote in the bytes, or `count` when there is none.
size_t schoolstat_next_quote(const uint8_t *bytes, size_t count);

/// The index of the first byte a JSON string must escape (double quote, backslash, control
/// character), or `count` when there is none.
size_t schoolstat_json_next_escape(const uint8_t *bytes, size_t count);

/// 1 when `bytes` may hold `need` digits of an ID number: a run of bytes that are digits or the
/// separators people type between groups (space, '-', no-break, ideographic and full-width forms)
/// holding `need` ASCII digits, or any full-width digit (EF BC 90-99). The quick test before an
/// exact search for ID numbers.
int schoolstat_may_hold_digit_run(const uint8_t *bytes, size_t count, size_t need);

/// Blocks of 1 MiB and more are mapped and returned to the system when freed, whatever
/// was freed before (glibc; elsewhere it does nothing). Keeps peak memory flat when many
/// threads allocate and free batch-sized buffers. Up to 2 MiB freed at the top of a heap is
/// kept for the next batches instead of being returned and faulted in again.
void schoolstat_fix_allocator_threshold(void);

/// One record, or one blank line (`fieldCount` -1), as libcsv reported it.
typedef struct {
    /// Physical line (1-based) on which it starts, and how many lines it spans.
    int64_t line;
    int64_t lineCount;
    /// 1-based ordinal among the records (0 for a blank line).
    int64_t ordinal;
    /// Its first field's index in the sink's `ends`, and how many fields it has.
    int64_t firstField;
    int64_t fieldCount;
    /// 1 when every byte of every field is a space or tab.
    int64_t isBlank;
    /// Where it starts in the file, when its bytes there are its fields as they are, joined
    /// by the delimiter (no quote, nothing left out: see `rawKnown`); -1 otherwise.
    int64_t rawStart;
} schoolstat_csv_entry;

/// What libcsv's callbacks collect between two drains: field bytes back to back,
/// the end offset of each field, and the entries. Pass it as libcsv's callback data.
typedef struct {
    uint8_t *bytes;
    size_t byteCount, byteCapacity;
    int64_t *ends;
    size_t endCount, endCapacity;
    schoolstat_csv_entry *entries;
    size_t entryCount, entryCapacity;
    /// Reading state, carried across chunks.
    int64_t nextLine;
    int64_t newlinesInRecord;
    int64_t ordinal;
    int64_t openFirstField;
    int recordOpen;
    int lastTerminator;
    /// Set when memory ran out; nothing more is collected.
    int failed;
    /// 0 when no field of the chunk being parsed can hold a line end (the chunk has no
    /// quote character and does not start inside a quoted field): fields are not searched for one.
    int fieldsMayHoldLineEnds;
    /// 1 while every byte parsed is a field byte, a delimiter or a line end, each reported
    /// (no quote seen): `rawOffset` is then the file offset of the next byte libcsv reports,
    /// and each entry's `rawStart` where it begins. Set by the reader (`CSVRecordParser`),
    /// cleared for a line with a quote and set again after the next line end outside quotes.
    int rawKnown;
    int64_t rawOffset;
    int64_t openRawStart;
} schoolstat_csv_sink;

void schoolstat_csv_sink_init(schoolstat_csv_sink *sink);
void schoolstat_csv_sink_free(schoolstat_csv_sink *sink);
/// Forgets the entries read so far; the fields of a record not yet complete are kept.
void schoolstat_csv_sink_clear(schoolstat_csv_sink *sink);
/// libcsv's field and record callbacks (`csv_parse(..., schoolstat_csv_field, schoolstat_csv_record, sink)`).
void schoolstat_csv_field(void *data, size_t length, void *sink);
void schoolstat_csv_record(int terminator, void *sink);
/// libcsv's space test: no character is a space, so fields keep their spaces.
int schoolstat_csv_no_space(unsigned char c);

/// The index just past the first CR or LF of the `n` bytes at `p`; `n` when there is none.
size_t schoolstat_line_end(const uint8_t *p, size_t n);

/// Rebuilds a batch kept by its place in the file (`BatchSpill`) from the file's text: `raw`
/// holds `rawCount` bytes from where the batch's first entry starts (`atEnd` when the file ends
/// there), and 64 more that may be read. Each of the `entryCount` entries, in order (five
/// integers each, as a batch keeps them: line, lines, ordinal, first field, field count), is a
/// blank line (field count -1) or a record of that many fields separated by `delimiter`, none
/// holding a delimiter or line end; each ends with CR, LF or CR LF, the last one possibly with
/// the end of the file. The fields' bytes go back to back into `out` (`byteCount` of them; it
/// has room for `rawCount` + 32) and their end offsets into `ends` (room for `fieldCount`, the
/// sum of the entries' field counts). Returns 1, or 0 when the text is not laid out so (it is
/// not what was parsed).
int schoolstat_split_batch(const uint8_t *raw, size_t rawCount, int atEnd, uint8_t delimiter,
                           const int64_t *entries, size_t entryCount,
                           int64_t *ends, size_t fieldCount, uint8_t *out, size_t byteCount);

/// 1 when libcsv's own space handling could change the fields of these bytes, else 0: when a
/// space or tab touches a delimiter, CR, LF, double quote or either end of the bytes (where
/// libcsv would drop leading and trailing spaces of a field, or spaces after a closing quote).
/// Anywhere else a space is kept by libcsv as by `schoolstat_csv_no_space`, so a chunk
/// without such spaces is parsed the same without the test of every character.
int schoolstat_csv_spaces_may_be_trimmed(const uint8_t *bytes, size_t count, uint8_t delimiter);

/// Asks the CPU to bring the cache line at `address` in, for writing, before it is needed.
static inline void schoolstat_prefetch_for_write(const void *address) { __builtin_prefetch(address, 1, 3); }

/// A 64-bit word read and set from several threads (a table that fills in as it is used):
/// a load that sees what was stored before a release, a plain load, and bits set with release.
static inline uint64_t schoolstat_load_acquire_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline uint64_t schoolstat_load_relaxed_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void schoolstat_or_release_u64(uint64_t *p, uint64_t bits) { __atomic_fetch_or(p, bits, __ATOMIC_RELEASE); }

#endif
