// Placeholder so the package builds on branch hbase while main has no committed files in this
// test target; delete when main's tests land.
import Testing
