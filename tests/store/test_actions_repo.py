from __future__ import annotations

import threading

import pytest
from sqlalchemy.orm.exc import StaleDataError

from bot.store import actions_repo
from bot.store.models import Action, utcnow


def _action(database, key: str = "k1", state: str = "approved") -> int:
    with database.session() as s:
        a = Action(
            name="k8s.rollout_undo",
            kind="rollback",
            target="checkout",
            params={"to": 41},
            params_hash="h",
            idempotency_key=key,
            state=state,
        )
        s.add(a)
        s.flush()
        return a.id


def test_transition_compare_and_set(database):
    aid = _action(database)
    started = utcnow()
    with database.session() as s:
        loaded = s.get(Action, aid)
        assert loaded is not None and loaded.version == 1
        assert actions_repo.transition(
            session=s, action_id=aid, from_states={"approved"}, to_state="executing", started_at=started
        )
        # the loaded object was expired and reloads the new state
        assert loaded.state == "executing" and loaded.version == 2 and loaded.started_at == started
        assert not actions_repo.transition(
            session=s, action_id=aid, from_states={"approved"}, to_state="executing"
        )
        assert actions_repo.transition(
            session=s,
            action_id=aid,
            from_states={"executing"},
            to_state="verifying",
            checkpoint={"revision": 41},
        )
    with database.session() as s:
        a = actions_repo.get(session=s, action_id=aid)
        assert a is not None and (a.state, a.version, a.checkpoint) == ("verifying", 3, {"revision": 41})
        assert actions_repo.get_by_idempotency_key(session=s, idempotency_key="k1") is a
        assert [x.id for x in actions_repo.in_states(session=s, states={"verifying"})] == [aid]
        assert not actions_repo.transition(
            session=s, action_id=aid + 100, from_states={"verifying"}, to_state="done"
        )


def test_transition_validates(database):
    aid = _action(database)
    with database.session() as s:
        with pytest.raises(ValueError, match="unknown action state"):
            actions_repo.transition(session=s, action_id=aid, from_states={"approved"}, to_state="running")
        with pytest.raises(ValueError, match="not settable"):
            actions_repo.transition(
                session=s, action_id=aid, from_states={"approved"}, to_state="done", version=7
            )
        assert not actions_repo.transition(session=s, action_id=aid, from_states=set(), to_state="done")


def test_stale_orm_write_is_refused(database):
    aid = _action(database)
    s1 = database.sessionmaker()
    try:
        stale = s1.get(Action, aid)
        assert stale is not None
        with database.session() as s2:
            assert actions_repo.transition(
                session=s2, action_id=aid, from_states={"approved"}, to_state="executing"
            )
        stale.state = "denied"
        with pytest.raises(StaleDataError):
            s1.commit()
    finally:
        s1.close()


def test_idempotency_key_unique(database):
    import sqlalchemy as sa

    _action(database, key="same")
    with pytest.raises(sa.exc.IntegrityError):
        _action(database, key="same")


@pytest.mark.postgres
def test_transition_wins_exactly_once_across_threads(pg_url):
    from bot.store.db import Database
    from bot.store.migrate import upgrade

    upgrade(pg_url)
    db = Database(pg_url)
    aid = _action(db)
    n = 8
    barrier = threading.Barrier(n)
    wins: list[bool] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait(timeout=30)
        with db.session() as s:
            won = actions_repo.transition(
                session=s, action_id=aid, from_states={"approved"}, to_state="executing"
            )
        with lock:
            wins.append(won)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    with db.session() as s:
        a = s.get(Action, aid)
        assert a is not None and (a.state, a.version) == ("executing", 2)
    db.dispose()
    assert sorted(wins) == [False] * (n - 1) + [True]
