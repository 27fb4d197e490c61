"""The reference app's pages, migration and settings, with a fake database and no broker."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "reference-app") not in sys.path:
    sys.path.insert(0, str(ROOT / "reference-app"))

from argos import db, migrate, settings  # noqa: E402
from argos.web import ArgosApp  # noqa: E402

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeConnection:
    """A DB-API connection that records SQL; `rows` answers each fetchone in turn."""

    def __init__(self, log: list[str], rows: list[Any], fail: Exception | None) -> None:
        self.log, self.rows, self.fail = log, rows, fail
        self.committed = self.closed = False

    def cursor(self) -> FakeConnection:
        return self

    def execute(self, query: str, params: Any = None) -> None:
        if self.fail is not None:
            raise self.fail
        self.log.append(query)

    def fetchone(self) -> Any:
        return self.rows.pop(0) if self.rows else None

    def commit(self) -> None:
        self.committed = True

    def close(self) -> None:
        self.closed = True


class FakeDatabase:
    def __init__(self, rows: list[Any] | None = None, fail: Exception | None = None) -> None:
        self.log: list[str] = []
        self.rows = rows if rows is not None else []
        self.fail = fail
        self.connections: list[FakeConnection] = []

    def connect(self) -> FakeConnection:
        conn = FakeConnection(self.log, self.rows, self.fail)
        self.connections.append(conn)
        return conn


def make_app(database: FakeDatabase, run_task: Callable[[float], dict[str, Any]] | None = None,
             ) -> ArgosApp:
    def no_task(timeout: float) -> dict[str, Any]:
        raise AssertionError("no task expected")

    return ArgosApp(connect=database.connect, commit=lambda: COMMIT,
                    run_task=run_task or no_task, hostname=lambda: "app-1")


def get(app: ArgosApp, path: str, method: str = "GET") -> tuple[str, dict[str, Any]]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen.update(status=status, headers=dict(headers))

    body = b"".join(app({"REQUEST_METHOD": method, "PATH_INFO": path}, start_response))
    assert seen["headers"]["Content-Type"] == "application/json"
    assert seen["headers"]["Content-Length"] == str(len(body))
    return seen["status"], json.loads(body)


def test_health_is_200_when_the_database_answers() -> None:
    database = FakeDatabase(rows=[(1,)])
    status, body = get(make_app(database), "/health")
    assert status == "200 OK" and body["database"] == "ok"
    assert database.log == ["SELECT 1"] and database.connections[0].closed


def test_health_is_503_when_the_database_cannot_be_reached() -> None:
    status, body = get(make_app(FakeDatabase(fail=OSError("connection refused"))), "/health")
    assert status == "503 Service Unavailable" and body["database"] == "unreachable"


def test_index_answers_commit_host_and_a_visit_counted_in_the_database() -> None:
    database = FakeDatabase(rows=[(41,)])
    status, body = get(make_app(database), "/")
    assert status == "200 OK"
    assert body == {"commit": COMMIT, "host": "app-1", "database": {"visits": 41}}
    assert database.log == [db.COUNT_VISIT] and database.connections[0].committed


def test_index_is_503_with_the_commit_when_the_counter_is_missing() -> None:
    status, body = get(make_app(FakeDatabase(rows=[])), "/")
    assert status == "503 Service Unavailable"
    assert body["commit"] == COMMIT and "migration" in body["error"]


def test_celery_answers_the_result_and_the_worker_that_computed_it() -> None:
    asked: list[float] = []

    def run_task(timeout: float) -> dict[str, Any]:
        asked.append(timeout)
        return {"result": 42, "host": "worker-1", "task_id": "t-1"}

    status, body = get(make_app(FakeDatabase(), run_task), "/celery")
    assert status == "200 OK" and asked == [30.0]
    assert body == {"result": 42, "host": "worker-1", "task_id": "t-1", "web_host": "app-1"}


def test_celery_is_504_when_no_worker_answers_in_time() -> None:
    def run_task(timeout: float) -> dict[str, Any]:
        raise TimeoutError("the operation timed out")

    status, body = get(make_app(FakeDatabase(), run_task), "/celery")
    assert status == "504 Gateway Timeout" and "30 s" in body["error"]


def test_celery_is_503_when_the_broker_fails() -> None:
    def run_task(timeout: float) -> dict[str, Any]:
        raise ConnectionError("broker down")

    status, _ = get(make_app(FakeDatabase(), run_task), "/celery")
    assert status == "503 Service Unavailable"


@pytest.mark.parametrize(("path", "method", "status"), [
    ("/nowhere", "GET", "404 Not Found"), ("/", "POST", "405 Method Not Allowed")])
def test_unknown_pages_and_methods_are_refused(path: str, method: str, status: str) -> None:
    assert get(make_app(FakeDatabase()), path, method)[0] == status


def test_the_migration_takes_its_lock_creates_the_table_and_commits() -> None:
    database = FakeDatabase()
    assert db.migrate(database.connect) == len(db.MIGRATIONS)
    assert database.log[0].startswith("SELECT pg_advisory_xact_lock")
    assert "CREATE TABLE IF NOT EXISTS argos_visits" in database.log[1]
    assert "ON CONFLICT (name) DO NOTHING" in database.log[2]  # a second run changes nothing
    assert database.connections[0].committed and database.connections[0].closed


def test_migrate_without_a_rendered_config_says_where_it_looked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ARGOS_CONFIG", str(tmp_path / "config.py"))
    assert migrate.main() == 2
    assert str(tmp_path / "config.py") in capsys.readouterr().err


def render_template(name: str, secrets: dict[str, str], **argos: Any) -> str:
    """The shipped deploy template as Salt renders it (Jinja with Salt's `json` filter)."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters["json"] = json.dumps
    pillar = {"argos": {
        "environment": "qa", "commit": COMMIT,
        "database": {"name": "argos", "user": "argos", "host": "10.0.0.20", "port": 5432},
        "broker": {"engine": "redis", "host": "10.0.0.30", "port": 6379, "user": "argos"},
        "worker": {"concurrency": 2}, **argos}}
    return env.from_string((ROOT / "deploy" / name).read_text()).render(
        pillar=pillar, secrets=secrets)


SECRETS = {"secret_key": 'k"e\\y', "database_password": "p'w\"d", "broker_password": "b-p_w"}


def test_the_rendered_config_gives_the_app_its_database(tmp_path: Path) -> None:
    path = tmp_path / "config.py"
    path.write_text(render_template("config.py", SECRETS))
    config = settings.load_module(path, "rendered_config")
    assert config.SECRET_KEY == 'k"e\\y'  # quotes and backslashes survive: rendered as JSON
    assert settings.database(config) == settings.Database(
        name="argos", user="argos", password=SECRETS["database_password"],
        host="10.0.0.20", port=5432)


@pytest.mark.parametrize(("engine", "port", "broker_url", "backend"), [
    ("redis", 6379, "redis://:b-p_w@10.0.0.30:6379/0", "redis://:b-p_w@10.0.0.30:6379/0"),
    ("rabbitmq", 5672, "amqp://argos:b-p_w@10.0.0.30:5672//", "rpc://")])
def test_the_rendered_celery_config_names_the_broker_and_result_backend(
        tmp_path: Path, engine: str, port: int, broker_url: str, backend: str) -> None:
    path = tmp_path / "celery_config.py"
    path.write_text(render_template("celery_config.py", SECRETS, broker={
        "engine": engine, "host": "10.0.0.30", "port": port, "user": "argos"}))
    loaded = settings.celery_settings(settings.load_module(path, f"celery_{engine}"))
    assert loaded["broker_url"] == broker_url and loaded["result_backend"] == backend
    assert loaded["worker_concurrency"] == 2 and "json" in loaded["accept_content"]


def test_the_celery_config_is_looked_for_beside_the_app_config() -> None:
    assert settings.celery_config_path({"ARGOS_CONFIG": "/x/etc/config.py"}) == Path(
        "/x/etc/celery_config.py")
    assert settings.celery_config_path({}) == Path("/srv/argos/etc/celery_config.py")
    assert settings.celery_config_path({"ARGOS_CELERY_CONFIG": "/y/c.py"}) == Path("/y/c.py")


def test_a_config_without_databases_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "config.py"
    path.write_text("SECRET_KEY = 'x'\n")
    with pytest.raises(settings.SettingsError, match="DATABASES"):
        settings.database(settings.load_module(path, "no_databases"))


def test_the_celery_app_and_its_task_take_the_rendered_settings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("celery")  # installed on the hosts, not in argos-cloud's own venv
    path = tmp_path / "celery_config.py"
    path.write_text('broker_url = "memory://"\nresult_backend = "cache+memory://"\n')
    monkeypatch.setenv("ARGOS_CELERY_CONFIG", str(path))
    from argos import tasks  # builds argos.celery.app from the file above
    from argos.celery import app

    assert app.conf.broker_url == "memory://"
    assert "heartbeat" in app.conf.beat_schedule
    assert tasks.whoami.name in app.tasks
    assert tasks.compute(20, 22)["result"] == 42
