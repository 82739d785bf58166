// libpq, loaded when the export to PostgreSQL first needs it rather than when schoolstat starts:
// the library and the twenty it brings (Kerberos, LDAP, GnuTLS …) took milliseconds of every
// run's start, and only `export --to postgresql://…` uses them.
//
// Each function the export calls is defined here under libpq's own name, hidden from other
// libraries, and calls the one found in libpq.so.5. The types are libpq's, written as the
// pointers and integers they are (libpq-fe.h is not included: its declarations are for callers).
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include "csupport.h"

#define HIDDEN __attribute__((visibility("hidden")))

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void *library;
static char problem[512];

static struct {
    void *(*connectdbParams)(const char *const *, const char *const *, int);
    int (*status)(const void *);
    char *(*errorMessage)(const void *);
    void (*finish)(void *);
    void *(*setNoticeProcessor)(void *, void *, void *);
    void *(*execParams)(void *, const char *, int, const unsigned *, const char *const *, const int *, const int *, int);
    void (*clear)(void *);
    int (*resultStatus)(const void *);
    void *(*exec)(void *, const char *);
    int (*putCopyData)(void *, const char *, int);
    int (*putCopyEnd)(void *, const char *);
    void *(*getResult)(void *);
    char *(*resultErrorField)(const void *, int);
    void *(*conninfoParse)(const char *, char **);
    void (*conninfoFree)(void *);
    void (*freemem)(void *);
} pq;

static void *symbol(const char *name) {
    void *found = dlsym(library, name);
    if (!found && !problem[0]) {
        const char *why = dlerror();
        snprintf(problem, sizeof problem, "%s", why ? why : name);
    }
    return found;
}

static void load(void) {
    library = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char *why = dlerror();
        snprintf(problem, sizeof problem, "%s", why ? why : "libpq.so.5");
        return;
    }
    pq.connectdbParams = symbol("PQconnectdbParams");
    pq.status = symbol("PQstatus");
    pq.errorMessage = symbol("PQerrorMessage");
    pq.finish = symbol("PQfinish");
    pq.setNoticeProcessor = symbol("PQsetNoticeProcessor");
    pq.execParams = symbol("PQexecParams");
    pq.clear = symbol("PQclear");
    pq.resultStatus = symbol("PQresultStatus");
    pq.exec = symbol("PQexec");
    pq.putCopyData = symbol("PQputCopyData");
    pq.putCopyEnd = symbol("PQputCopyEnd");
    pq.getResult = symbol("PQgetResult");
    pq.resultErrorField = symbol("PQresultErrorField");
    pq.conninfoParse = symbol("PQconninfoParse");
    pq.conninfoFree = symbol("PQconninfoFree");
    pq.freemem = symbol("PQfreemem");
}

const char *schoolstat_pq_load(void) {
    pthread_once(&once, load);
    return problem[0] ? problem : NULL;
}

// A connection and a parsed connection string are what every other function takes: made only
// once libpq is loaded (the export checks it first, to say why not), nothing else is reached
// without it.
HIDDEN void *PQconnectdbParams(const char *const *k, const char *const *v, int expand) {
    return schoolstat_pq_load() ? NULL : pq.connectdbParams(k, v, expand);
}
HIDDEN int PQstatus(const void *c) { return pq.status(c); }
HIDDEN char *PQerrorMessage(const void *c) { return pq.errorMessage(c); }
HIDDEN void PQfinish(void *c) { pq.finish(c); }
HIDDEN void *PQsetNoticeProcessor(void *c, void *proc, void *arg) { return pq.setNoticeProcessor(c, proc, arg); }
HIDDEN void *PQexecParams(void *c, const char *command, int n, const unsigned *types, const char *const *values, const int *lengths,
                          const int *formats, int resultFormat) {
    return pq.execParams(c, command, n, types, values, lengths, formats, resultFormat);
}
HIDDEN void PQclear(void *r) { pq.clear(r); }
HIDDEN int PQresultStatus(const void *r) { return pq.resultStatus(r); }
HIDDEN void *PQexec(void *c, const char *query) { return pq.exec(c, query); }
HIDDEN int PQputCopyData(void *c, const char *buffer, int n) { return pq.putCopyData(c, buffer, n); }
HIDDEN int PQputCopyEnd(void *c, const char *message) { return pq.putCopyEnd(c, message); }
HIDDEN void *PQgetResult(void *c) { return pq.getResult(c); }
HIDDEN char *PQresultErrorField(const void *r, int field) { return pq.resultErrorField(r, field); }
HIDDEN void *PQconninfoParse(const char *conninfo, char **message) {
    if (schoolstat_pq_load()) {
        if (message) *message = NULL;
        return NULL;
    }
    return pq.conninfoParse(conninfo, message);
}
HIDDEN void PQconninfoFree(void *options) { pq.conninfoFree(options); }
HIDDEN void PQfreemem(void *p) { pq.freemem(p); }
