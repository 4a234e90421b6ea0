"""Adapters talk to the outside: database engine, S3, PDF, mail. Built lazily, never at import."""
