// Settings: configuration for SonarLab.
//
// What it does: parses INI files (`INIDocument`: config.ini, themes) keeping line numbers and comments,
// resolves the typed `SonarLabConfiguration` with the precedence flags > environment > config.ini >
// built-in defaults (`ConfigurationResolver`), reads the HBase connection and its secrets from the
// environment only (`HBaseConnectionSettings`, `Secret`), and reports every problem as a `SettingsError`
// naming the file and line, the environment variable or the flag.
//
// May import: Foundation only. Nothing else in SonarLab reads the environment: callers pass
// `ProcessInfo.processInfo.environment` in, and tests pass dictionaries.
// Start at `ConfigurationResolver.resolve(configFile:environment:flags:)`.
