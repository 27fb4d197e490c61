"""The thin edge: parse, confirm, render; every error becomes one line here.

`main` parses (`args`, each command's flags a dataclass in `options`) and maps errors to
exit statuses; `program` opens the environment and calls one `*_commands` function, which
asks (`confirm`), calls its workflow and hands the result to `views/`, the only place text
and JSON documents are made. Imports run one way: commands → views → nothing of `cli/`.
"""
