"""The embedded database as `./scripts/run` and the benchmarks start it: a SecantusDB server per
service, each with files of its own, started side by side."""

from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from services.common.embedded import SERVICES, EmbeddedMongo, holds_one_store, per_service

pytestmark = pytest.mark.integration


async def test_each_service_gets_a_server_and_files_of_its_own(tmp_path: Path) -> None:
    servers = per_service(tmp_path / "mongo", log_dir=tmp_path)
    try:
        assert sorted(servers) == sorted(SERVICES)
        assert len({server.port for server in servers.values()}) == len(SERVICES)
        for name, server in servers.items():
            client: AsyncMongoClient[dict[str, str]] = AsyncMongoClient(server.url)
            try:
                await client[name].marks.insert_one({"_id": name})
            finally:
                await client.close()
        for name, server in servers.items():
            client = AsyncMongoClient(server.url)
            try:
                counts = {s: await client[s].marks.count_documents({}) for s in SERVICES}
                assert counts == {s: int(s == name) for s in SERVICES}  # its own mark only
            finally:
                await client.close()
            assert holds_one_store(tmp_path / "mongo" / name)
            assert (tmp_path / f"mongo-{name}.log").exists()
    finally:
        for server in servers.values():
            server.stop()
    assert not holds_one_store(tmp_path / "mongo")


def test_none_is_left_running_when_one_cannot_start(tmp_path: Path) -> None:
    root = tmp_path / "mongo"
    root.mkdir()
    (root / "routing").write_text("not a directory")  # the second server's files cannot go here
    started: list[EmbeddedMongo] = []
    launch = EmbeddedMongo.launch

    def recording(server: EmbeddedMongo) -> None:
        launch(server)
        started.append(server)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(EmbeddedMongo, "launch", recording)
        with pytest.raises(FileExistsError):
            per_service(root)
    assert [Path(s.storage).name for s in started] == ["intake"]
    assert started[0].process is not None and started[0].process.poll() is not None


def test_an_earlier_versions_one_server_is_recognised(tmp_path: Path) -> None:
    EmbeddedMongo(tmp_path / "mongo").start().stop()
    assert holds_one_store(tmp_path / "mongo")
