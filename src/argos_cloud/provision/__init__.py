"""Provisioning: the Salt state tree and pillar bundle, user data, offline validation.

Nothing here imports Salt: validation runs Salt in a child process
(`_salt_child`), because importing Salt rewires the process's logging.
"""
