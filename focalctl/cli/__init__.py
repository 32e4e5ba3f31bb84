"""The typer commands: parse arguments, call the library, render. No logic here."""
