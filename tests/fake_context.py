"""A narrow stand-in for the task context: records XCom pushes and holds a task_state_store."""

from __future__ import annotations

from typing import Any


class FakeTaskInstance:
    task_id = "task"
    map_index = -1

    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}
        self.stats_tags: dict[str, str] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value

    def xcom_pull(self, task_ids: Any = None, key: str = "return_value", **_: Any) -> Any:
        return self.xcom.get(key)


class FakeTaskStateStore:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value


def make_context(store: FakeTaskStateStore | None = None) -> dict[str, Any]:
    context: dict[str, Any] = {"ti": FakeTaskInstance()}
    if store is not None:
        context["task_state_store"] = store
    return context


# --- tries and clears (Airflow 3.3's task_state_store survives a clear; a retry keeps max_tries) ----------


class FakeTryTaskInstance(FakeTaskInstance):
    """A task instance that knows its try: ``try_number`` and ``max_tries`` as Airflow sets them.

    A retry raises ``try_number`` and keeps ``max_tries``; a clear sets ``max_tries`` to
    ``try_number + retries`` (so the first try of the current attempt is ``max_tries - retries + 1``).
    """

    def __init__(self, try_number: int = 1, max_tries: int = 0, first_reschedule_date: Any = None) -> None:
        super().__init__()
        self.try_number = try_number
        self.max_tries = max_tries
        self.first_reschedule_date = first_reschedule_date
        self.dag_id = "dag"
        self.run_id = "run"

    def get_first_reschedule_date(self, context: Any) -> Any:
        return self.first_reschedule_date


class FakeDagRun:
    def __init__(self, clear_number: int = 0) -> None:
        self.clear_number = clear_number
        self.run_id = "run"
        self.conf: dict[str, Any] = {}


class FullFakeTaskStateStore(FakeTaskStateStore):
    """The whole ``task_state_store`` accessor API of Airflow 3.3 (get with default, set, delete, clear)."""

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return self.data.get(key, default)

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:  # type: ignore[override]
        if value is None:
            raise ValueError("Cannot set value as None")
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)

    def clear(self) -> None:
        self.data.clear()


def make_try_context(
    store: FakeTaskStateStore | None = None,
    try_number: int = 1,
    max_tries: int = 0,
    clear_number: int = 0,
    first_reschedule_date: Any = None,
) -> dict[str, Any]:
    """A context whose ti knows its try number and max_tries (and a dag_run with its clear_number)."""
    context: dict[str, Any] = {
        "ti": FakeTryTaskInstance(try_number, max_tries, first_reschedule_date),
        "dag_run": FakeDagRun(clear_number),
        "task_reschedule_count": 0 if first_reschedule_date is None else 1,
    }
    if store is not None:
        context["task_state_store"] = store
    return context
