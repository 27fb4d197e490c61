"""Bad input is refused before the first write: exit 2, one line naming file and key (or flag).

Every case counts the CLI's AWS calls: a refusal makes no mutating call at all.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from argos_cloud.aws import session as aws_session
from argos_cloud.sandbox.faults import CallCounter

pytestmark = pytest.mark.e2e


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> CallCounter:
    """Every AWS call the CLI makes in this test, counted as it is made."""
    counter = CallCounter()
    make = aws_session.make_clients

    def counted(**kwargs: Any) -> aws_session.Clients:
        clients = make(**kwargs)
        counter.attach(clients)
        return clients

    monkeypatch.setattr(aws_session, "make_clients", counted)
    return counter


def configure(project: Path, extra: str) -> None:
    (project / "argos-cloud.toml").write_text(
        (project / "argos-cloud.toml").read_text() + "\n" + extra)


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert lines[0].startswith("argos-cloud: error: ")
    return lines[0]


@pytest.mark.parametrize(("extra", "key", "why"), [
    ('[environments.qa.ssh]\ncidrs = ["10.0.0.300/24"]\npublic_key = "deploy/id.pub"',
     "ssh.cidrs", "not a CIDR"),
    ('[environments.qa.ssh]\ncidrs = ["10.0.0.0/33"]\npublic_key = "deploy/id.pub"',
     "ssh.cidrs", "not a CIDR"),
    ('[environments.qa.ssh]\ncidrs = ["2001:db8::/129"]\npublic_key = "deploy/id.pub"',
     "ssh.cidrs", "not a CIDR"),
    ('[environments.qa.ssh]\ncidrs = ["::/0"]\npublic_key = "deploy/id.pub"',
     "ssh.cidrs", "whole internet"),
    ('[environments.qa.ssh]\ncidrs = ["10.0.0.0/24"]\npublic_key = "deploy/bad.pub"',
     "ssh.public_key", "not an OpenSSH public key"),
    ('[environments.qa.source]\nref = "--upload-pack=touch /tmp/x"', "source.ref", "'-'"),
    ('[environments.qa.app]\nmax_size = 100000', "app.max_size", "less than or equal"),
    ('[environments.qa.app]\ninstance_type = "t3.huge"', "app.instance_type",
     "not offered in us-east-1"),
    ('[environments.qa.image]\nbase_ami_id = "ami-0123456789abcdef0"', "image.base_ami_id",
     "no image"),
    ('[environments.qa.network]\nvpc_id = "vpc-0123456789abcdef0"', "network.vpc_id",
     "no VPC"),
])
@pytest.mark.parametrize("command", ["plan", "commission"])
def test_bad_config_is_refused_before_any_write(cli, calls: CallCounter, project: Path,  # type: ignore[no-untyped-def]
                                                 extra: str, key: str, why: str,
                                                 command: str) -> None:
    (project / "deploy" / "id.pub").write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== me\n")
    (project / "deploy" / "bad.pub").write_text("-----BEGIN PRIVATE KEY-----\n")
    configure(project, extra)
    ran = cli("--yes", "qa", command)
    assert ran.status == 2, ran.stderr
    line = one_line(ran.stderr)
    assert "argos-cloud.toml" in line and key in line and why in line, line
    assert calls.mutating() == {}


def test_a_v6_cidr_and_a_narrow_v4_cidr_are_accepted(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    (project / "deploy" / "id.pub").write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== me\n")
    configure(project, '[environments.qa.ssh]\ncidrs = ["2001:db8::/64", "10.1.2.0/24"]\n'
              'public_key = "deploy/id.pub"')
    assert cli("qa", "plan").status == 0


@pytest.mark.parametrize("argv", [
    ("qa", "commission", "--parallel", "0"),
    ("qa", "commission", "--parallel", "-1"),
    ("qa", "commission", "--parallel", "10000"),
    ("qa", "commission", "--lock-wait", "-1"),
    ("qa", "history", "--limit", "-5"),
    ("qa", "history", "--limit", "0"),
    ("qa", "deploy", "--batch", "0"),
    ("qa", "deploy", "--batch", "101%"),
    ("qa", "rollback", "--batch", "-2"),
    ("qa", "deploy", "--ref", ""),
    ("qa", "deploy", "--ref=--upload-pack=touch /tmp/pwned"),
    ("qa", "deploy", "--ref", "main;rm -rf /"),
    ("qa", "deploy", "--ref", "$(id)"),
    ("qa", "deploy", "--ref", "a b"),
    ("qa", "deploy", "--ref", "feature/../x"),
    ("qa", "deploy", "--ref", "v1.lock"),
])
def test_bad_flags_are_refused_naming_the_flag_and_range(cli, calls: CallCounter,  # type: ignore[no-untyped-def]
                                                          argv: tuple[str, ...]) -> None:
    ran = cli("--yes", *argv)
    assert ran.status == 2, ran.stderr
    line = one_line(ran.stderr)
    flag = next(a for a in argv if a.startswith("--")).partition("=")[0]
    assert flag in line, line
    assert calls.total == 0  # refused while parsing: AWS never asked


def test_good_refs_and_numbers_still_parse() -> None:
    from argos_cloud.cli.args import parse
    from argos_cloud.cli.options import CommissionOptions, DeployOptions, HistoryOptions

    for ref in ("main", "v1.2.3", "feature/login-form", "refs/tags/v1", "a" * 40, "r+1@x"):
        assert parse(["qa", "deploy", "--ref", ref]).options == DeployOptions(ref=ref)
    assert parse(["qa", "commission", "--parallel", "16"]).options == CommissionOptions(
        parallel=16)
    assert parse(["qa", "history", "--limit", "1000"]).options == HistoryOptions(limit=1000)


def test_a_bad_ref_is_refused_on_the_emulator_too_and_nothing_is_recorded(cli) -> None:  # type: ignore[no-untyped-def]
    from argos_cloud.errors import BadInput
    from argos_cloud.provision.git import check_ref

    for bad in ("", "--upload-pack=x", "x;y", "`id`"):
        with pytest.raises(BadInput):
            check_ref(bad)  # the library refuses too, whatever the provider
    assert cli("--yes", "qa", "commission").status == 0
    assert cli("--yes", "qa", "deploy", "--ref", "$(id)").status == 2
    assert cli("--output", "json", "qa", "status").json()["deployed_ref"] is None


# --- errors to act on ---

def test_no_credentials_names_the_ways_to_give_them(cli, project: Path,  # type: ignore[no-untyped-def]
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_SECURITY_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(project / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(project / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    import io

    from argos_cloud.cli.environment import Environment
    from argos_cloud.cli.main import main

    err = io.StringIO()
    status = main(["qa", "plan"], Environment(
        stdin=io.StringIO(""), stdout=io.StringIO(), stderr=err, cwd=project,
        environ={"ARGOS_CLOUD_PROVIDER": "aws", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}))
    line = one_line(err.getvalue())
    assert status == 1 and "internal error" not in line
    assert "--profile" in line and "aws sso login" in line and "AWS_ACCESS_KEY_ID" in line


@pytest.fixture
def html_endpoint() -> Iterator[str]:
    """A web server that is not AWS: every request gets an HTML page."""
    class Page(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = b"<html><head><title>Welcome to nginx!</title></head>\n<body>hi</body></html>"
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_an_endpoint_that_is_not_aws_is_named_with_what_answered(
        project: Path, html_endpoint: str) -> None:
    from tests.e2e.test_cli_edges import run

    status, _, err = run(project, "qa", "plan", environ={
        "ARGOS_CLOUD_PROVIDER": "aws", "AWS_ENDPOINT_URL": html_endpoint})
    line = one_line(err)
    assert status == 1 and "internal error" not in line
    assert html_endpoint in line and "not answer as AWS" in line and "Welcome to nginx!" in line


def test_an_endpoint_on_a_closed_port_is_named(project: Path) -> None:
    from argos_cloud.sandbox.plain import free_port
    from tests.e2e.test_cli_edges import run

    url = f"http://127.0.0.1:{free_port()}"
    status, _, err = run(project, "qa", "plan", environ={
        "ARGOS_CLOUD_PROVIDER": "aws", "AWS_ENDPOINT_URL": url})
    line = one_line(err)
    assert status == 1 and "internal error" not in line
    assert "cannot reach" in line and f"127.0.0.1:{url.rsplit(':', 1)[1]}" in line
