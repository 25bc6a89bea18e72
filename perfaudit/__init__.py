"""perfaudit: find and explain database performance problems in Django + PostgreSQL projects."""
