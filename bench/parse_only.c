/* The floor for `make bench`: libcsv parsing a file and touching every field,
 * nothing else. Prints records, fields and a checksum of the field bytes. */
#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct counts { unsigned long records, fields, bytes, checksum; };

static void on_field(void *data, size_t len, void *ctx) {
    struct counts *c = ctx;
    const unsigned char *p = data;
    c->fields++;
    c->bytes += len;
    for (size_t i = 0; i < len; i++) c->checksum = c->checksum * 31 + p[i];
}

static void on_record(int terminator, void *ctx) {
    (void)terminator;
    ((struct counts *)ctx)->records++;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: parse_only FILE\n"); return 2; }
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 3; }
    struct csv_parser p;
    csv_init(&p, 0);
    struct counts c = {0};
    static char buf[1 << 18];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (csv_parse(&p, buf, n, on_field, on_record, &c) != n) { fprintf(stderr, "parse error\n"); return 1; }
    }
    csv_fini(&p, on_field, on_record, &c);
    csv_free(&p);
    fclose(f);
    printf("records=%lu fields=%lu bytes=%lu checksum=%lu\n", c.records, c.fields, c.bytes, c.checksum);
    return 0;
}
