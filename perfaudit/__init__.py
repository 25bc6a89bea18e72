"""perfaudit: find and explain database performance problems in Django + PostgreSQL projects."""

__version__ = "0.2.0"
