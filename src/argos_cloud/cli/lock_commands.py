"""The lock at the command line: `--lock-wait`, `--break-lock` under its rule, and `unlock`.

A stale holder needs no flag (the run takes it over). A live one (its process runs
here, or its lease has not run out) is broken only after a confirmation naming it;
under --yes only with --force as well.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from argos_cloud.cli.args import Arguments
from argos_cloud.cli.confirm import confirm
from argos_cloud.cli.environment import Environment
from argos_cloud.cli.options import LockOptions, UnlockOptions, expect
from argos_cloud.cli.views import ProgressHook, View
from argos_cloud.cli.views.lock import show_broken, show_unlocked
from argos_cloud.errors import ExitStatus, Refused

if TYPE_CHECKING:
    from argos_cloud.workflows.session import Session


def apply_lock_options(args: Arguments, env: Environment, view: View, session: Session) -> None:
    """--lock-wait for the run's lock, then --break-lock under its rule."""
    options = expect(args.options, LockOptions)
    session.lock_wait = float(options.lock_wait)
    if options.break_lock:
        break_lock(args, env, view, session, force=options.force)


def break_lock(args: Arguments, env: Environment, view: View, session: Session, *,
               force: bool) -> bool:
    """Break the lock (asking about a live holder); True when there was one."""
    lock = session.lock("break-lock")
    holder = lock.holder()
    if holder is None:
        return False
    if lock.holder_alive() is not None:
        if args.yes and not force:
            raise Refused(f"the lock of {session.spec.name} is held by {holder.describe()}, "
                          f"which is still alive (lease until {holder.expires}): not broken "
                          "under --yes without --force")
        confirm(env, f"The lock is held by {holder.describe()}, which is still alive. "
                "Break it?", yes=args.yes)
    old = lock.break_lock()
    if old is not None:
        show_broken(view, old)
    return old is not None


def unlock(args: Arguments, env: Environment, view: View, session: Session,
           hook: ProgressHook) -> ExitStatus:
    options = expect(args.options, UnlockOptions)
    holder = session.lock("unlock").holder()
    if holder is None:
        show_unlocked(view, session.spec.name, None)
        return ExitStatus.OK
    if session.lock("unlock").holder_alive() is None:  # a live holder is asked about below
        confirm(env, f"Break the lock held by {holder.describe()}?", yes=args.yes)
    break_lock(args, env, view, session, force=options.force)
    show_unlocked(view, session.spec.name, holder)
    return ExitStatus.OK
