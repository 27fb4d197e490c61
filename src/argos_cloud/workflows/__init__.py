"""One module per command; they compose config, discovery, planning, engine, kinds, provision.

Every mutating command runs inside `operation.operation(...)`: one lock (its lease kept
fresh while steps make progress), one journal entry with its outcome. Workflows compute
result values; `cli/views` renders them.
"""
