"""The snapshot store: SQLModel tables, migrations, releases and locks."""
