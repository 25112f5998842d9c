// OrdlogShared's types (JSONValue, Hex, RFC3339, Locked, Backoff …) are part of OrdlogCore's public API and used to
// live here: re-exported so that every client of OrdlogCore (the CLI, the tests) keeps compiling with
// `import OrdlogCore` alone.
@_exported import OrdlogShared
