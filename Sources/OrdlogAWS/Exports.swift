// OrdlogShared's types (Hex, CivilTime, Backoff …) are part of OrdlogAWS's public API and used to live here:
// re-exported so that every client of OrdlogAWS keeps compiling with `import OrdlogAWS` alone.
@_exported import OrdlogShared
