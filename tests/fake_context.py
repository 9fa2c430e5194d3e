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
