import Foundation
import NIOHTTP1

extension HBaseClient {
    /// Creates a table, or **replaces** its schema if it exists: PUT `/{t}/schema` (HBASE_REST.md §1, §2 TableSchema).
    ///
    /// A replacement drops families that `schema` does not list. Use ``alterTable(_:)`` to add or change
    /// families while keeping the others.
    /// - Parameter schema: The full schema.
    /// - Throws: ``HBaseError/forbidden`` (read-only or no grant), ``HBaseError/badRequest``,
    ///   ``HBaseError/unavailable`` (for example missing namespace, §3.9), ``HBaseError/unauthorized``,
    ///   ``HBaseError/transport``, ``HBaseError/timeout``.
    public func createOrReplaceTable(_ schema: HBaseTableSchema) async throws {
        let context = Context(operation: "create table", table: schema.table)
        // 304 is a lost create race: the table exists (§1).
        _ = try await expect(
            [200, 201, 304], .PUT, HBasePath.table(schema.table) + "/schema", body: try HBaseCodec.encodeSchema(schema),
            isIdempotent: true, context: context)
    }

    /// Creates a table if missing, otherwise adds or modifies the given families and keeps the others:
    /// POST `/{t}/schema` (§1).
    /// - Parameter schema: The families to create or change.
    /// - Returns: `true` if the table was created (201), `false` if an existing table was altered (200).
    /// - Throws: ``HBaseError/forbidden``, ``HBaseError/badRequest``, ``HBaseError/unavailable`` (a family
    ///   change failed), ``HBaseError/unauthorized``, ``HBaseError/transport``, ``HBaseError/timeout``.
    @discardableResult
    public func alterTable(_ schema: HBaseTableSchema) async throws -> Bool {
        let context = Context(operation: "alter table", table: schema.table)
        let reply = try await expect(
            [200, 201], .POST, HBasePath.table(schema.table) + "/schema", body: try HBaseCodec.encodeSchema(schema),
            isIdempotent: true, context: context)
        return reply.status == 201
    }

    /// A table's schema: GET `/{t}/schema` (§1, §2 TableSchema).
    /// - Parameter table: The table.
    /// - Returns: The schema; `VERSIONS` and `TTL` are parsed into ``HBaseColumnFamily``.
    /// - Throws: ``HBaseError/tableNotFound`` (404), ``HBaseError/forbidden``, ``HBaseError/unauthorized``,
    ///   ``HBaseError/transport``, ``HBaseError/timeout``, ``HBaseError/invalidResponse``.
    public func tableSchema(_ table: HBaseTableName) async throws -> HBaseTableSchema {
        let context = Context(operation: "get schema of", table: table)
        let reply = try await expect(
            [200], .GET, HBasePath.table(table) + "/schema", isIdempotent: true, context: context)
        return try HBaseCodec.decodeSchema(reply.body, table: table)
    }

    /// Whether a table exists: GET `/{t}/exists` (§1).
    /// - Parameter table: The table.
    /// - Returns: `true` on 200, `false` on 404.
    /// - Throws: ``HBaseError/forbidden``, ``HBaseError/unauthorized``, ``HBaseError/unavailable``,
    ///   ``HBaseError/transport``, ``HBaseError/timeout``.
    public func tableExists(_ table: HBaseTableName) async throws -> Bool {
        let context = Context(operation: "check existence of", table: table)
        let reply = try await expect(
            [200, 404], .GET, HBasePath.table(table) + "/exists", isIdempotent: true, context: context)
        return reply.status == 200
    }

    /// Disables and deletes a table: DELETE `/{t}/schema` (§1).
    /// - Parameter table: The table.
    /// - Throws: ``HBaseError/tableNotFound`` (404), ``HBaseError/forbidden``, ``HBaseError/unauthorized``,
    ///   ``HBaseError/unavailable``, ``HBaseError/transport``, ``HBaseError/timeout``.
    public func dropTable(_ table: HBaseTableName) async throws {
        let context = Context(operation: "drop table", table: table)
        _ = try await expect([200], .DELETE, HBasePath.table(table) + "/schema", isIdempotent: true, context: context)
    }
}
