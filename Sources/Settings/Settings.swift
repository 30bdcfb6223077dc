// Settings: INI parsing and typed configuration with precedence flags > environment > config.ini > defaults.
