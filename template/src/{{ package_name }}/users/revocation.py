"""Revocation that takes effect on the next request, in every process of every replica.

A token is honoured only while its account exists, is active, and has the credentials
version the token carries (a password change or reset increments it); its scopes count
only as far as the account still holds them. So each request needs its account's state.

Reading it on every request would cost a round trip per request. Instead each process
keeps an `AccountView` of the accounts it has seen, and PostgreSQL tells every process
when one changes: a trigger on "user" (migration 0007) notifies the channel
`account_changed` with the account's id, and `db/listen.py` hands the payload to
`AccountView.on_notification`, which forgets that account. Its next request reads it
again. The same process forgets an account as soon as the ORM writes it (before the
commit, so a request in the same transaction, as in the tests, sees the change too).

While a process is not listening (starting up, its listening connection lost, SQLite,
or ACCOUNT_CACHE_MAX_ENTRIES=0), it remembers nothing and reads the account on every
request: never a stale answer, only a slower one.
"""

import uuid
from typing import Any
from weakref import WeakSet

from sqlalchemy import bindparam, event, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..auth.principal import AccountState
from .models import User

CHANNEL = "account_changed"
EVERY_ACCOUNT = "*"

_USER = User.metadata.tables["user"]  # the table behind the model, for a Core statement
_STATE_OF = select(_USER.c.is_active, _USER.c.scopes, _USER.c.credentials_version).where(
    _USER.c.id == bindparam("user_id")
)


class AccountView:
    """One process's memory of account states, at most `max_entries` of them.

    A state read before a change but stored after the change's notification would be
    stale for good: every forget moves `epoch` on, and a state is stored only if no
    forget happened while it was being read (`remember(..., epoch_when_read)`).
    """

    def __init__(self, max_entries: int) -> None:
        self._states: dict[uuid.UUID, AccountState] = {}
        self._max_entries = max_entries
        self._listening = False
        self.epoch = 0
        _VIEWS.add(self)

    @property
    def listening(self) -> bool:
        """Whether notifications are known to arrive: only then are states remembered."""
        return self._listening

    def set_listening(self, listening: bool) -> None:
        """Called by the listener: True once notifications are known to arrive."""
        if listening != self._listening:
            # Whatever changed while nobody listened was never heard of: start afresh.
            self.forget_all()
            self._listening = listening

    def remembered(self, user_id: uuid.UUID) -> AccountState | None:
        """The account's remembered state, or None (never seen, or forgotten since)."""
        return self._states.get(user_id)

    def remember(self, user_id: uuid.UUID, state: AccountState, epoch_when_read: int) -> None:
        """Keep `state`, read at `epoch_when_read`, unless something was forgotten since.

        Keeps nothing while not listening or with `max_entries` 0; when full, the entry
        remembered first goes.
        """
        if not self._listening or epoch_when_read != self.epoch or self._max_entries == 0:
            return
        if len(self._states) >= self._max_entries:
            # The oldest entry goes: a dict keeps insertion order.
            del self._states[next(iter(self._states))]
        self._states[user_id] = state

    def forget(self, user_id: uuid.UUID) -> None:
        """Forget the account's state: its next request reads it again."""
        self.epoch += 1
        self._states.pop(user_id, None)

    def forget_all(self) -> None:
        """Forget every account's state."""
        self.epoch += 1
        self._states.clear()

    def on_notification(self, payload: str) -> None:
        """A payload of the `account_changed` channel: an account id, or "*" for all."""
        try:
            user_id = uuid.UUID(payload)
        except ValueError:
            # "*" after a TRUNCATE, or anything unexpected: forgetting all is always safe.
            self.forget_all()
            return
        self.forget(user_id)

    async def state_of(self, session: AsyncSession, user_id: uuid.UUID) -> AccountState | None:
        """The account's current state, or None when the account does not exist
        (`auth.principal.AccountStates`).

        Remembered: no database round trip. Otherwise read in a transaction of its own on
        `session`, committed before returning, so that the session's next transaction
        starts afresh (with Row-Level Security: with the caller's context).
        """
        state = self.remembered(user_id)
        if state is not None:
            return state
        epoch = self.epoch
        connection = await session.connection()
        row = (await connection.execute(_STATE_OF, {"user_id": user_id})).first()
        await session.commit()
        if row is None:
            return None
        state = AccountState(row.is_active, frozenset(row.scopes), row.credentials_version)
        self.remember(user_id, state, epoch)
        return state


_VIEWS: WeakSet[AccountView] = WeakSet()


def _forget_written_account(_mapper: Any, _connection: Any, user: User) -> None:
    for view in _VIEWS:
        view.forget(user.id)


# Every ORM update or delete of an account, in this process; other processes hear of it
# through the notification once the transaction commits.
event.listen(User, "after_update", _forget_written_account)
event.listen(User, "after_delete", _forget_written_account)
