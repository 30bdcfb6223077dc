// The `sonarlab` executable: all commands live in the SonarLabCLI library so tests can drive them in-process.
import SonarLabCLI

await SonarLabCommand.mainWithExitCodes()
