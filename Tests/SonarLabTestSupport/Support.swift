// Test helpers shared by the SonarLab test targets.
