/// The event log's schema history: `migrations/NNNN_description.sql`, embedded in the binary.
///
/// Migrations have string ids (the file name without `.sql`), are plain SQL, are applied in order on
/// open inside one transaction each, and are recorded in `schema_migrations`. A migration is never
/// edited once it has landed; a change is a new file.
public enum Migrations {
    /// The ids of all known migrations, in order.
    public static var ids: [String] { embedded.map(\.id) }

    /// The SQL text of migration `id`, byte for byte as in `migrations/<id>.sql`.
    public static func sql(_ id: String) -> String? { embedded.first { $0.id == id }?.sql }

    /// The migration holding the projection schema (applied alone to scratch projections).
    static let projectionMigrationID = "0002_projection"

    /// The ids of the migrations not yet applied to `db`, in order (all of them for a file without
    /// `schema_migrations`). Reads only.
    public static func pending(_ db: SQLiteConnection) throws -> [String] {
        let hasTable = try db.scalarInt(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
        guard hasTable == 1 else { return ids }
        var done = Set<String>()
        for id in ids where try db.scalarInt("SELECT count(*) FROM schema_migrations WHERE id = ?", [.text(id)]) == 1 {
            done.insert(id)
        }
        return ids.filter { !done.contains($0) }
    }

    /// Applies every migration not yet recorded in `schema_migrations`.
    /// - Parameter only: apply just these ids (used to create scratch projection databases).
    /// - Throws: ``SQLiteError`` when a migration fails; that migration is rolled back.
    static func migrate(_ db: SQLiteConnection, only: Set<String>? = nil) throws {
        try db.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                id TEXT PRIMARY KEY,
                applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
            )
            """)
        for migration in embedded where only?.contains(migration.id) ?? true {
            let done = try db.scalarInt("SELECT count(*) FROM schema_migrations WHERE id = ?", [.text(migration.id)])
            if done == 1 { continue }
            try db.transaction {
                try db.execute(migration.sql)
                try db.run("INSERT INTO schema_migrations(id) VALUES (?)", [.text(migration.id)])
            }
        }
    }
}
