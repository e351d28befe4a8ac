"""The worker's own restrictions, exercised in a child process: files, network and memory."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from modelscan_vicious.containment import landlock

pytestmark = pytest.mark.skipif(landlock.abi_version() < 1, reason="needs Linux with Landlock")

# Runs in a fresh interpreter: contains itself as the worker does, then tries what a hostile model would.
PROBE = textwrap.dedent(
    """
    import socket, sys
    from modelscan_vicious.containment.sandbox import SandboxSpec, apply_rlimits, isolate_network, restrict_files
    scratch, allowed, secret, outside, port = sys.argv[1:6]
    spec = SandboxSpec(read_paths=(), scratch=scratch, max_memory_bytes=3 << 30, cpu_seconds=60)
    mechanisms = isolate_network() + apply_rlimits(spec) + restrict_files(spec, (allowed,))

    def attempt(what, action):
        try:
            action()
            print(what, "allowed")
        except (OSError, MemoryError) as err:
            print(what, "refused", type(err).__name__)

    attempt("read-allowed", lambda: open(allowed).read())
    attempt("read-secret", lambda: open(secret).read())
    attempt("read-etc-passwd", lambda: open("/etc/passwd").read())
    attempt("write-scratch", lambda: open(scratch + "/out", "w").write("x"))
    attempt("write-outside", lambda: open(outside, "w").write("x"))
    attempt("connect-loopback", lambda: socket.create_connection(("127.0.0.1", int(port)), timeout=2))
    attempt("allocate-4GiB", lambda: bytearray(4 << 30))
    print("mechanisms", ",".join(mechanisms))
    """
)


def test_contained_process_reads_and_writes_only_what_it_was_given(tmp_path: Path):
    scratch, private = tmp_path / "scratch", tmp_path / "private"
    scratch.mkdir()
    private.mkdir()
    allowed = tmp_path / "model.onnx"
    allowed.write_text("model bytes")
    secret = private / "secret.txt"
    secret.write_text("do not read")
    outside = private / "marker"
    with socket.socket() as server:  # a listener the sandbox must not reach
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        run = subprocess.run(
            [sys.executable, "-c", PROBE, str(scratch), str(allowed), str(secret), str(outside), str(port)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode == 0, run.stderr
    outcome = dict(line.split(" ", 1) for line in run.stdout.splitlines())
    assert outcome["read-allowed"] == "allowed"
    assert outcome["write-scratch"] == "allowed"
    for attempt in ("read-secret", "read-etc-passwd", "write-outside", "connect-loopback", "allocate-4GiB"):
        assert outcome[attempt].startswith("refused"), (attempt, outcome[attempt])
    assert not outside.exists()
    assert {"network-namespace", "rlimit-address-space"} <= set(outcome["mechanisms"].split(","))


def test_landlock_layers_only_narrow(tmp_path: Path):
    """A second layer cannot grant back what the first withheld (the worker relies on this)."""
    scratch, first, second = tmp_path / "scratch", tmp_path / "first.txt", tmp_path / "second.txt"
    scratch.mkdir()
    first.write_text("1")
    second.write_text("2")
    code = textwrap.dedent(
        """
        import sys
        from modelscan_vicious.containment.sandbox import SandboxSpec, restrict_files
        scratch, first, second = sys.argv[1:4]
        spec = SandboxSpec(read_paths=(), scratch=scratch, max_memory_bytes=3 << 30, cpu_seconds=60)
        restrict_files(spec, (first,))
        restrict_files(spec, (first, second))
        for path in (first, second):
            try:
                open(path).read()
                print("allowed")
            except OSError:
                print("refused")
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(scratch), str(first), str(second)], capture_output=True, text=True, timeout=120
    )
    assert run.stdout.split() == ["allowed", "refused"], run.stderr
