// The shared test helpers (paths, scratch directories, the binary, CSV reading) for the history tests.
@_exported import SchoolStatTestSupport
