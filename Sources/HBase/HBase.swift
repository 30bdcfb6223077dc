// HBase: a generic client for Apache HBase's REST gateway ("Stargate").
//
// What it does: namespaces, table schema, put / get / multiget / scan / delete / check-and-put over
// the JSON wire format of ../shared/design/HBASE_REST.md, with pooling, timeouts, retries of
// idempotent requests, pluggable authentication and TLS. It knows nothing of experiments.
// May import: AsyncHTTPClient, SwiftNIO (core, SSL), swift-log (and CGSSAPI in the security issue).
// Start at `HBaseClient` (HBaseClient.swift) and `HBaseClientConfiguration`.
