"""Data files that ship inside the package: the herb catalogue (herbs.toml)."""
