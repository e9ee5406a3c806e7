"""Per-catalog style memory: SQLite storage, scene-aware preferences, reading Lightroom catalogs."""
