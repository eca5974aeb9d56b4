"""The `certnet` command: its parser (parser.py) names each command's function; main.py runs the one given."""
