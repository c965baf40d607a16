// Opening an SQLite file with better-sqlite3, in one place: the native addon is better-sqlite3's own build unless
// GK_EXPORTER_SQLITE_ADDON names another one (the test suite's Node 24 run loads a copy compiled for that Node's ABI
// while node_modules keeps the Node 20 build; scripts/peers/get-node24.sh).
import Database from 'better-sqlite3';

export const SQLITE_ADDON_ENV = 'GK_EXPORTER_SQLITE_ADDON';

export function openSqlite(file: string, options: Database.Options = {}): Database.Database {
  const addon = process.env[SQLITE_ADDON_ENV];
  return new Database(file, addon ? { ...options, nativeBinding: addon } : options);
}

/** Whether a table has a column (a read-only handle on a file an older exporter wrote may lack one). */
export function hasColumn(db: Database.Database, table: string, column: string): boolean {
  return (db.pragma(`table_info(${table})`) as { name: string }[]).some((r) => r.name === column);
}

export function hasTable(db: Database.Database, table: string): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table) !== undefined;
}
