// Collects what libcsv reports into flat arrays: field bytes back to back,
// each field's end offset, and one entry per record or blank line. libcsv calls
// these functions for every field and line end, so they live in C; Swift
// reads the arrays after each chunk (Reading/CSVRecordParser.swift).
#include <stdlib.h>
#include <string.h>
#include "csupport.h"
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static int grow(void **buffer, size_t *capacity, size_t needed, size_t size) {
    if (needed <= *capacity) return 1;
    size_t next = *capacity ? *capacity : 1024;
    while (next < needed) next *= 2;
    void *p = realloc(*buffer, next * size);
    if (!p) return 0;
    *buffer = p;
    *capacity = next;
    return 1;
}

void schoolstat_csv_sink_init(schoolstat_csv_sink *sink) {
    memset(sink, 0, sizeof *sink);
    sink->nextLine = 1;
    sink->lastTerminator = -2;
    sink->openRawStart = -1;
    // Every array exists from the start, so that readers may point into them even when
    // nothing has been stored yet (a file of empty fields only: `,,,`).
    if (!grow((void **)&sink->bytes, &sink->byteCapacity, 1, 1)
        || !grow((void **)&sink->ends, &sink->endCapacity, 1, sizeof *sink->ends)
        || !grow((void **)&sink->entries, &sink->entryCapacity, 1, sizeof *sink->entries)) sink->failed = 1;
}

void schoolstat_csv_sink_free(schoolstat_csv_sink *sink) {
    free(sink->bytes);
    free(sink->ends);
    free(sink->entries);
    memset(sink, 0, sizeof *sink);
}

/// Copies `n` bytes, reading and writing only those: most fields are a few bytes long, for
/// which a call to memcpy costs more than the copy.
static inline void copy_field(uint8_t *to, const uint8_t *from, size_t n) {
    if (n > 32) {
        memcpy(to, from, n);
    } else if (n >= 16) {
        uint8_t a[16], b[16];
        memcpy(a, from, 16);
        memcpy(b, from + n - 16, 16);
        memcpy(to, a, 16);
        memcpy(to + n - 16, b, 16);
    } else if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, from, 8);
        memcpy(&b, from + n - 8, 8);
        memcpy(to, &a, 8);
        memcpy(to + n - 8, &b, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, from, 4);
        memcpy(&b, from + n - 4, 4);
        memcpy(to, &a, 4);
        memcpy(to + n - 4, &b, 4);
    } else if (n > 0) {
        to[0] = from[0];
        to[n / 2] = from[n / 2];
        to[n - 1] = from[n - 1];
    }
}

void schoolstat_csv_field(void *data, size_t length, void *context) {
    schoolstat_csv_sink *sink = context;
    if (sink->failed) return;
    if (!sink->recordOpen) {
        sink->recordOpen = 1;
        sink->openFirstField = sink->endCount;
        sink->newlinesInRecord = 0;
        // Where the record starts; where it ends is counted once it is complete.
        sink->openRawStart = sink->rawKnown ? sink->rawOffset : -1;
    }
    if (data && length > 0) {
        if (!grow((void **)&sink->bytes, &sink->byteCapacity, sink->byteCount + length, 1)) { sink->failed = 1; return; }
        // Only a quoted field holds line ends; memchr finds out quickly that most do not.
        if (sink->fieldsMayHoldLineEnds && memchr(data, '\n', length)) {
            const unsigned char *p = data;
            for (size_t i = 0; i < length; i++) sink->newlinesInRecord += p[i] == '\n';
        }
        copy_field(sink->bytes + sink->byteCount, data, length);
        sink->byteCount += length;
    }
    if (!grow((void **)&sink->ends, &sink->endCapacity, sink->endCount + 1, sizeof *sink->ends)) { sink->failed = 1; return; }
    sink->ends[sink->endCount++] = (int64_t)sink->byteCount;
}

static schoolstat_csv_entry *new_entry(schoolstat_csv_sink *sink) {
    if (!grow((void **)&sink->entries, &sink->entryCapacity, sink->entryCount + 1, sizeof *sink->entries)) {
        sink->failed = 1;
        return NULL;
    }
    return &sink->entries[sink->entryCount++];
}

void schoolstat_csv_record(int terminator, void *context) {
    schoolstat_csv_sink *sink = context;
    int last = sink->lastTerminator;
    sink->lastTerminator = terminator;
    if (sink->failed) return;
    // Where this line end is; the next byte is after it.
    int64_t at = sink->rawOffset;
    if (terminator != -1) sink->rawOffset += 1;
    if (!sink->recordOpen) {
        // A line end outside any record: the LF of a CR LF pair, or a blank line.
        if (terminator == '\n' && last == '\r') return;
        if (terminator == -1) return;
        schoolstat_csv_entry *e = new_entry(sink);
        if (!e) return;
        *e = (schoolstat_csv_entry){ .line = sink->nextLine, .lineCount = 0, .ordinal = 0,
                                     .firstField = sink->endCount, .fieldCount = -1, .isBlank = 1,
                                     .rawStart = sink->rawKnown ? at : -1 };
        sink->nextLine += 1;
        return;
    }
    sink->recordOpen = 0;
    sink->ordinal += 1;
    int64_t first = sink->openFirstField;
    int64_t start = first == 0 ? 0 : sink->ends[first - 1];
    int64_t newlines = sink->newlinesInRecord;
    // At end of file inside an unclosed quote, the file's final line end is not another line.
    if (terminator == -1 && newlines > 0 && sink->byteCount > (size_t)start && sink->bytes[sink->byteCount - 1] == '\n') newlines -= 1;
    // A record of nothing but spaces and tabs (a row Excel writes as `,,,,`).
    int blank = 1;
    for (size_t i = (size_t)start; i < sink->byteCount; i++) {
        unsigned char c = sink->bytes[i];
        if (c != ' ' && c != '\t') { blank = 0; break; }
    }
    schoolstat_csv_entry *e = new_entry(sink);
    if (!e) return;
    int64_t fields = (int64_t)sink->endCount - first;
    int known = sink->rawKnown && sink->openRawStart >= 0;
    *e = (schoolstat_csv_entry){ .line = sink->nextLine, .lineCount = newlines + 1, .ordinal = sink->ordinal,
                                 .firstField = first, .fieldCount = fields, .isBlank = blank,
                                 .rawStart = known ? sink->openRawStart : -1 };
    // The record in the file: its field bytes, a delimiter between two fields, its line end.
    if (known) sink->rawOffset = sink->openRawStart + ((int64_t)sink->byteCount - start) + (fields - 1) + (terminator == -1 ? 0 : 1);
    sink->nextLine += newlines + (terminator == -1 ? 0 : 1);
}

int schoolstat_csv_no_space(unsigned char c) {
    (void)c;
    return 0;
}

static int is_boundary(uint8_t c, uint8_t delimiter) {
    return c == delimiter || c == '\r' || c == '\n' || c == '"';
}

int schoolstat_csv_spaces_may_be_trimmed(const uint8_t *p, size_t n, uint8_t delimiter) {
    size_t i = 0;
#if defined(__SSE2__)
    // Sixteen bytes at a time past those without a space or tab: most of any roster.
    const __m128i space = _mm_set1_epi8(' '), tab = _mm_set1_epi8('\t');
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        int hits = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, space), _mm_cmpeq_epi8(v, tab)));
        while (hits) {
            size_t k = i + (size_t)__builtin_ctz((unsigned)hits);
            if (k == 0 || k + 1 == n || is_boundary(p[k - 1], delimiter) || is_boundary(p[k + 1], delimiter)) return 1;
            hits &= hits - 1;
        }
    }
#endif
    for (; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t') continue;
        if (i == 0 || i + 1 == n || is_boundary(p[i - 1], delimiter) || is_boundary(p[i + 1], delimiter)) return 1;
    }
    return 0;
}

void schoolstat_csv_sink_clear(schoolstat_csv_sink *sink) {
    sink->entryCount = 0;
    if (!sink->recordOpen) {
        sink->byteCount = 0;
        sink->endCount = 0;
        return;
    }
    // Keep the fields of the record still being read, moved to the front.
    int64_t first = sink->openFirstField;
    int64_t start = first == 0 ? 0 : sink->ends[first - 1];
    int64_t fields = sink->endCount - first;
    memmove(sink->bytes, sink->bytes + start, sink->byteCount - (size_t)start);
    sink->byteCount -= (size_t)start;
    for (int64_t i = 0; i < fields; i++) sink->ends[i] = sink->ends[first + i] - start;
    sink->endCount = (size_t)fields;
    sink->openFirstField = 0;
}

#if defined(__SSE2__)
/// Bit i set when byte i of the 64 at `p` is the delimiter, CR or LF.
static inline uint64_t separators64(const uint8_t *p, __m128i d, __m128i cr, __m128i lf) {
    uint64_t mask = 0;
    for (int k = 0; k < 4; k++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + 16 * k));
        uint32_t hits = (uint32_t)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, d), _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf))));
        mask |= (uint64_t)hits << (16 * k);
    }
    return mask;
}
#endif

#if defined(__clang__)
// The field copies stay as they are written: as calls to memcpy (which clang makes of such a
// loop), each field would cost a call.
__attribute__((no_builtin("memcpy")))
#endif
int schoolstat_split_batch(const uint8_t *restrict raw, size_t rawCount, int atEnd, uint8_t delimiter,
                           const int64_t *restrict entries, size_t entryCount,
                           int64_t *restrict ends, size_t fieldCount, uint8_t *restrict out, size_t byteCount) {
    // `out` has room for `rawCount` bytes and 32 more: a field goes to `out` at or before where it
    // is in `raw` (the delimiters and line ends before it are left out), so the bytes copied
    // with each field fit, and only the total is checked, at the end.
    size_t c = 0, f = 0, o = 0;
#if defined(__SSE2__)
    // The separators of 64 bytes at a time, from `base`: a field's end is the lowest bit at or
    // after its start (bits past `rawCount` are bytes after the text, hence the bound).
    const __m128i d = _mm_set1_epi8((char)delimiter), cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
    size_t base = 0;
    uint64_t mask = separators64(raw, d, cr, lf);
#endif
    for (size_t e = 0; e < entryCount; e++) {
        int64_t n = entries[5 * e + 4];
        for (int64_t j = 0; j < n; j++) {
            // The field runs to the next delimiter or line end (or the end of the text).
#if defined(__SSE2__)
            size_t s = c, b;
            for (;;) {
                if (s >= base + 64) { base = s; mask = separators64(raw + base, d, cr, lf); }
                uint64_t ahead = mask >> (s - base);
                if (ahead) { b = s + (size_t)__builtin_ctzll(ahead); break; }
                s = base + 64;
                if (s >= rawCount) { b = rawCount; break; }
            }
            if (b > rawCount) b = rawCount;
            // Thirty-two bytes whatever the field's length (most fields are shorter; an ID number
            // is eighteen), then sixteen at a time.
            _mm_storeu_si128((__m128i *)(out + o), _mm_loadu_si128((const __m128i *)(raw + c)));
            _mm_storeu_si128((__m128i *)(out + o + 16), _mm_loadu_si128((const __m128i *)(raw + c + 16)));
            for (size_t k = 32; k < b - c; k += 16)
                _mm_storeu_si128((__m128i *)(out + o + k), _mm_loadu_si128((const __m128i *)(raw + c + k)));
#else
            size_t b = c;
            while (b < rawCount && raw[b] != delimiter && raw[b] != '\r' && raw[b] != '\n') { out[o + (b - c)] = raw[b]; b++; }
#endif
            o += b - c;
            ends[f++] = (int64_t)o;
            c = b;
            // A delimiter after each field but the last; the last is followed by the line end.
            if (j + 1 < n) {
                if (c == rawCount || raw[c] != delimiter) return 0;
                c += 1;
            }
        }
        if (c == rawCount) {
            // Only the file's last record may end without a line end.
            if (atEnd && n > 0 && e + 1 == entryCount) continue;
            return 0;
        }
        if (raw[c] == '\r') {
            c += 1;
            if (c < rawCount && raw[c] == '\n') c += 1;
        } else if (raw[c] == '\n') {
            c += 1;
        } else {
            return 0;
        }
    }
    return f == fieldCount && o == byteCount ? 1 : 0;
}

size_t schoolstat_line_end(const uint8_t *p, size_t n) {
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        int hits = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)));
        if (hits) return i + (size_t)__builtin_ctz((unsigned)hits) + 1;
    }
#endif
    for (; i < n; i++) if (p[i] == '\r' || p[i] == '\n') return i + 1;
    return n;
}
