"""The local backend: the session is a process on this machine, supervised by ``nsml.launch`` (unchanged)."""

from __future__ import annotations

from pathlib import Path

from nsml import launch
from nsml import session as sessions
from nsml.entities import Session
from nsml.store import Store


class LocalBackend:
    name = "local"

    def supervise(self, store: Store, name: str, echo: bool) -> int:
        return launch.supervise(store, name, echo)

    def detach(self, store: Store, name: str) -> None:
        launch.detach(store, name)

    def stop(self, store: Store, session: Session) -> Session:
        return launch.stop(store, session)

    def refresh(self, store: Store, session: Session) -> Session:
        return sessions.refresh(store, session)

    def predict(self, session: Session, argv: list[str], env: dict[str, str], timeout: float,
                stdout: Path | None) -> tuple[int, int]:
        raise NotImplementedError("a local submit runs in nsml.submit itself")


BACKEND = LocalBackend()
