// libxml2 from Debian's libxml2-dev: the SAX2 push parser the workbook reader streams sheets through.
// Its ICU converters are not used here, and their headers would clash with the ICU inside Foundation:
// the switch is turned off before the headers that read it (only pointers to the structures it
// changes are used).
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>
#include <libxml/SAX2.h>
