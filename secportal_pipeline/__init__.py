"""secportal-pipeline: the export contract between a security workspace and its warehouse."""
