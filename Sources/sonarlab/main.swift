print("sonarlab")
