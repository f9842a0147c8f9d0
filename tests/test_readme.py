"""The README's walk-through and the example requests in ``docs/`` run, verbatim, against a live server.

The server is what ``scripts/serve`` makes, in a temporary instance folder: a migrated SQLite
store, the demo catalog and its index, under gunicorn; the recommender is not trained, since no
documented request asks for recommendations and training takes minutes. The
```` ```bash ```` blocks run with bash, ``API`` pointing at the server, and ``curl`` replaced by a
function that runs the real curl and fails the script on any status but 2xx, or the one a
``# expect: <status>`` comment at the end of the command names, printing the response.
"""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest

from marketplace import create_app
from marketplace.extensions import db
from tests.gunicorn import ROOT, gunicorn, server_config

WALKTHROUGH_HEADING = "## Walk-through with curl"
EXPECT = re.compile(r"#\s*expect:\s*(\d{3})\s*$")
CURL = r"""
set -euo pipefail
shopt -s inherit_errexit
curl() {
  local expected=${CURL_EXPECT:-2xx} body status
  body=$(mktemp)
  if ! status=$(command curl --silent --show-error --output "$body" --write-out '%{http_code}' "$@"); then
    echo "curl failed: curl $*" >&2
    rm -f "$body"
    return 1
  fi
  cat "$body"
  if [[ $status == "$expected" || ($expected == 2xx && $status == 2??) ]]; then
    rm -f "$body"
    return 0
  fi
  { echo; echo "HTTP $status, expected $expected: curl $*"; cat "$body"; echo; } >&2
  rm -f "$body"
  return 1
}
"""


def bash_blocks(markdown: str) -> list[str]:
    """The contents of the ```` ```bash ```` blocks of ``markdown``, in order."""
    return re.findall(r"^```bash\n(.*?)^```$", markdown, flags=re.MULTILINE | re.DOTALL)


def section(markdown: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same level."""
    level = heading.split(" ")[0]
    start = markdown.index(heading + "\n") + len(heading)
    following = re.search(rf"^{level} ", markdown[start:], flags=re.MULTILINE)
    return markdown[start : start + following.start()] if following else markdown[start:]


def with_expectations(script: str) -> str:
    """Make each command that a ``# expect: <status>`` comment ends expect that status.

    The command becomes ``CURL_EXPECT=<status> curl ...``.

    :raises ValueError: if such a command is not a curl call.
    """
    lines = script.splitlines()
    for number, line in enumerate(lines):
        if match := EXPECT.search(line):
            first = number
            while first > 0 and lines[first - 1].endswith("\\"):
                first -= 1
            if not lines[first].startswith("curl "):
                raise ValueError(f"# expect: marks a command that is not a curl call: {lines[first]!r}")
            lines[first] = f"CURL_EXPECT={match.group(1)} {lines[first]}"
    return "\n".join(lines) + "\n"


def run_bash(script: str, api: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``script`` with the checking curl and ``API`` set to ``api``; fail the test on an error."""
    result = subprocess.run(
        ["bash", "-c", CURL + with_expectations(script)],
        env={**os.environ, "API": api},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        output = f"--- stdout (end)\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr}"
        pytest.fail(f"the script exited with {result.returncode}\n{output}")
    return result


def documented_examples() -> list:
    """The README's walk-through, and each file in docs/ whose bash blocks call curl: one script each."""
    readme = bash_blocks(section((ROOT / "README.md").read_text(), WALKTHROUGH_HEADING))
    assert readme, f"no bash blocks under {WALKTHROUGH_HEADING!r}"
    found = [pytest.param("\n".join(readme), id="README.md")]
    for path in sorted((ROOT / "docs").glob("*.md")):
        blocks = [block for block in bash_blocks(path.read_text()) if re.search(r"\bcurl\s", block)]
        if blocks:
            found.append(pytest.param("\n".join(blocks), id=str(path.relative_to(ROOT))))
    return found


@pytest.fixture(scope="module")
def api(tmp_path_factory) -> str:
    """A live server prepared with the commands of ``scripts/serve`` but training; yields its API root."""
    instance = tmp_path_factory.mktemp("readme")
    config = server_config(instance)
    app = create_app(config)
    for command in (["db", "upgrade"], ["seed", "if-empty"], ["index", "ensure"]):
        result = app.test_cli_runner().invoke(args=command)
        assert result.exit_code == 0, (command, result.output)
    with app.app_context():
        db.engine.dispose()
    with gunicorn(config, instance / "gunicorn.log", workers=2) as (port, _):
        yield f"http://127.0.0.1:{port}/api/v1"


@pytest.mark.slow
@pytest.mark.parametrize("script", documented_examples())
def test_documented_requests_run_twice_as_written(api, script):
    """Every documented request answers as documented, in a first run and a second one.

    The README's walk-through signs up with an e-mail and a credit code made from ``date +%s``.
    """
    run_bash(script, api)
    time.sleep(1.1)
    run_bash(script, api)


@pytest.mark.slow
def test_expectations_are_checked(api):
    """The checking curl fails on an unexpected status and on an expected one that does not come."""
    run_bash('curl -s "$API/scenarios" > /dev/null\ncurl -s "$API/nothing-here"  # expect: 404\n', api)
    for script in ('curl -s "$API/nothing-here"\n', 'curl -s "$API/scenarios"  # expect: 404\n'):
        with pytest.raises(pytest.fail.Exception, match="HTTP"):
            run_bash(script, api)


def test_expect_marks_only_curl_commands():
    """A mark on a command that is not a curl call is a mistake in the document."""
    assert (
        with_expectations('curl -s \\\n  "$API/x"  # expect: 409')
        == 'CURL_EXPECT=409 curl -s \\\n  "$API/x"  # expect: 409\n'
    )
    with pytest.raises(ValueError):
        with_expectations("TOKEN=$(curl -s $API/x)  # expect: 401")
