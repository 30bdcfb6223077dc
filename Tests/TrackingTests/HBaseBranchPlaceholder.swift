// Placeholder; see HBaseExperimentStoreTests.swift.
import Testing
