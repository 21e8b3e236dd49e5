"""Output folders cannot destroy anything (labelsim.output, the ``--out`` rules).

--force replaces only a folder labelsim wrote; concurrent writers to one folder: exactly one wins and the
others get a clear error; symlinked targets; missing parents; a parent that cannot be written fails before
the simulation; SIGINT and SIGKILL in the middle of a write leave nothing a later run trips on.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from conftest import invoke

import labelsim
from labelsim import output
from labelsim.output import MARKER, OutputError, check_output_folder, clean_stale_staging, write_folder

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"




def _one_line_error(result, *expected: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    message = result.stderr.strip()
    assert message.startswith("error: ") and "\n" not in message, message
    for text in expected:
        assert text in message, (text, message)
    assert "Traceback" not in result.stderr


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _writers(tag: str, n: int = 3):
    return {f"f{i}.txt": (lambda path, i=i: path.write_text(f"{tag} {i}\n", encoding="utf-8")) for i in range(n)}


def _no_simulation(monkeypatch) -> None:
    """Make any simulation fail loudly: the check under test must come first."""
    def boom(*_args, **_kwargs):
        raise AssertionError("the simulation started before the output folder was checked")
    monkeypatch.setattr("labelsim.cli.simulate", boom)


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --------------------------------------------------------------------------- what --force may replace


def test_force_on_a_folder_of_other_files_is_refused_and_the_files_survive(runner, tmp_path, monkeypatch):
    out = tmp_path / "home-like"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work\n", encoding="utf-8")
    (out / "sub").mkdir()
    (out / "sub" / "data.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    before = _snapshot(out)
    _no_simulation(monkeypatch)
    result = invoke(runner, "run", QUICKSTART, "--seed", 1, "--out", out, "--force")
    _one_line_error(result, "--out", "not written by labelsim", MARKER)
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home-like"], "no staging folder left behind"


def test_force_refuses_a_labelsim_folder_with_files_added_by_hand(tmp_path):
    out = tmp_path / "run"
    write_folder(out, _writers("first"))
    (out / "my-notes.md").write_text("mine\n", encoding="utf-8")
    before = _snapshot(out)
    with pytest.raises(OutputError, match=r"files labelsim did not write \(my-notes\.md\)"):
        write_folder(out, _writers("second"), force=True)
    assert _snapshot(out) == before


def test_a_forged_or_broken_marker_does_not_count(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / MARKER).write_text("{not json", encoding="utf-8")
    (out / "precious.txt").write_text("keep\n", encoding="utf-8")
    with pytest.raises(OutputError, match="not written by labelsim"):
        write_folder(out, _writers("x"), force=True)
    assert (out / "precious.txt").read_text(encoding="utf-8") == "keep\n"


def test_force_replaces_a_folder_labelsim_wrote_and_the_marker_has_provenance(tmp_path):
    out = tmp_path / "run"
    write_folder(out, _writers("first"), command=["labelsim", "run", "x.yaml"])
    marker = json.loads((out / MARKER).read_text(encoding="utf-8"))
    assert marker["written_by"] == "labelsim"
    assert marker["labelsim_version"] == labelsim.__version__
    assert marker["command"] == ["labelsim", "run", "x.yaml"]
    assert marker["pid"] == os.getpid()
    assert marker["files"] == ["f0.txt", "f1.txt", "f2.txt"]
    assert marker["created_at"].endswith("+00:00")
    with pytest.raises(OutputError, match="not empty"):
        write_folder(out, _writers("second"))
    write_folder(out, _writers("second", n=2), force=True)
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "f0.txt", "f1.txt"]
    assert (out / "f0.txt").read_text(encoding="utf-8") == "second 0\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_replacing_without_the_atomic_exchange_works_too(tmp_path, monkeypatch):
    """Off Linux (or on a file system without RENAME_EXCHANGE) the swap is two renames under the lock."""
    monkeypatch.setattr(output, "_exchange", lambda a, b: False)
    out = tmp_path / "run"
    write_folder(out, _writers("first"))
    write_folder(out, _writers("second"), force=True)
    assert (out / "f2.txt").read_text(encoding="utf-8") == "second 2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_failing_writer_leaves_the_old_folder_and_no_staging(tmp_path):
    out = tmp_path / "run"
    write_folder(out, _writers("first"))
    before = _snapshot(out)

    def broken(path: Path) -> None:
        path.write_text("half", encoding="utf-8")
        raise RuntimeError("writer failed")

    with pytest.raises(RuntimeError, match="writer failed"):
        write_folder(out, {**_writers("second"), "broken.txt": broken}, force=True)
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


@pytest.mark.parametrize("where", [".", "..", "/", "home"])
def test_the_current_folder_its_parents_and_home_are_refused(runner, tmp_path, monkeypatch, where):
    cwd, home = tmp_path / "project", tmp_path / "home"
    cwd.mkdir()
    home.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("HOME", str(home))
    target = str(home) if where == "home" else where
    _no_simulation(monkeypatch)
    result = invoke(runner, "run", QUICKSTART, "--seed", 1, "--out", target, "--force")
    _one_line_error(result, f"--out {target}", "home folder" if where == "home" else "current folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "project"]
    assert list(home.iterdir()) == [] and list(cwd.iterdir()) == []


def test_a_file_is_not_an_output_folder(tmp_path):
    path = tmp_path / "out"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(OutputError, match="exists and is not a folder"):
        check_output_folder(path, force=True)


# --------------------------------------------------------------------------- concurrent writers


def _race(target: Path, n: int, force: bool) -> tuple[list[str], list[str]]:
    """``n`` threads write ``target`` at once; each waits until all have passed the check."""
    barrier = threading.Barrier(n, timeout=60)
    won: list[str] = []
    refused: list[str] = []

    def worker(tag: str) -> None:
        writers = _writers(tag)
        writers["wait.txt"] = lambda path: (path.write_text(tag, encoding="utf-8"), barrier.wait())
        try:
            write_folder(target, writers, force=force)
        except OutputError as exc:
            refused.append(str(exc))
        else:
            won.append(tag)

    threads = [threading.Thread(target=worker, args=(f"writer-{i}",)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return won, refused


@pytest.mark.parametrize("force", [False, True])
def test_concurrent_writers_exactly_one_wins_the_others_are_told(tmp_path, force):
    target = tmp_path / "shared"
    if force:
        write_folder(target, _writers("previous"))
    won, refused = _race(target, 4, force)
    assert len(won) == 1, (won, refused)
    assert len(refused) == 3
    for message in refused:
        assert "changed while this run was working" in message and "\n" not in message
    winner = won[0]
    assert (target / "wait.txt").read_text(encoding="utf-8") == winner
    assert all((target / f"f{i}.txt").read_text(encoding="utf-8") == f"{winner} {i}\n" for i in range(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared"], "no staging folder left behind"


def _process_writer(target: str, tag: str, barrier, results) -> None:
    writers = _writers(tag)
    writers["wait.txt"] = lambda path: (path.write_text(tag, encoding="utf-8"), barrier.wait())
    try:
        write_folder(target, writers, force=True)
    except OutputError as exc:
        results.put((tag, "refused", str(exc)))
    else:
        results.put((tag, "won", ""))


@pytest.mark.skipif(sys.platform != "linux", reason="uses fork")
def test_concurrent_processes_exactly_one_wins(tmp_path):
    target = tmp_path / "shared"
    write_folder(target, _writers("previous"))
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(3, timeout=60), context.Queue()
    procs = [context.Process(target=_process_writer, args=(str(target), f"p{i}", barrier, results)) for i in range(3)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    winners = [tag for tag, what, _ in outcomes if what == "won"]
    assert len(winners) == 1, outcomes
    assert all("changed while this run was working" in msg for _, what, msg in outcomes if what == "refused")
    assert (target / "wait.txt").read_text(encoding="utf-8") == winners[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared"]


def test_a_folder_filled_after_the_check_is_not_replaced(tmp_path):
    """The CLI checks before simulating; whatever appears in the folder meanwhile is detected at the swap."""
    out = tmp_path / "run"
    target = check_output_folder(out, force=True)
    out.mkdir()
    (out / "arrived.txt").write_text("someone else's\n", encoding="utf-8")
    with pytest.raises(OutputError, match="changed while this run was working"):
        write_folder(target, _writers("late"))
    assert _snapshot(out) == {"arrived.txt": b"someone else's\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


# --------------------------------------------------------------------------- where the folder is


def test_a_symlinked_target_is_written_through_and_the_link_kept(runner, tmp_path):
    real = tmp_path / "storage" / "runs"
    real.mkdir(parents=True)
    link = tmp_path / "latest"
    link.symlink_to(real, target_is_directory=True)
    first = invoke(runner, "run", QUICKSTART, "--seed", 1, "--out", link)
    assert first.exit_code == 0, first.stderr
    again = invoke(runner, "run", QUICKSTART, "--seed", 2, "--out", link, "--force")
    assert again.exit_code == 0, again.stderr
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert (real / "run.json").exists() and (real / MARKER).exists()
    assert json.loads((real / "run.json").read_text(encoding="utf-8"))["provenance"]["seed"] == 2
    assert sorted(p.name for p in (tmp_path / "storage").iterdir()) == ["runs"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "storage"]


def test_a_dangling_symlink_gets_its_folder_created(tmp_path):
    link = tmp_path / "latest"
    link.symlink_to(tmp_path / "elsewhere" / "run", target_is_directory=True)
    write_folder(link, _writers("x"))
    assert link.is_symlink()
    assert (tmp_path / "elsewhere" / "run" / "f0.txt").read_text(encoding="utf-8") == "x 0\n"


def test_missing_parent_folders_are_created(runner, tmp_path):
    out = tmp_path / "runs" / "2026" / "fc"
    result = invoke(runner, "run", QUICKSTART, "--seed", 1, "--out", out)
    assert result.exit_code == 0, result.stderr
    assert (out / "run.json").exists()


def test_a_relative_out_with_missing_parents_works_from_a_fresh_folder(runner, tmp_path, monkeypatch):
    """The README's ``--out runs/fc`` on a fresh clone."""
    monkeypatch.chdir(tmp_path)
    result = invoke(runner, "run", QUICKSTART, "--seed", 1, "--out", "runs/fc")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "runs" / "fc" / "run.json").exists()


def test_a_parent_that_is_a_file_fails_before_the_simulation(runner, tmp_path, monkeypatch):
    (tmp_path / "runs").write_text("not a folder\n", encoding="utf-8")
    _no_simulation(monkeypatch)
    result = invoke(runner, "run", QUICKSTART, "--seed", 1, "--out", tmp_path / "runs" / "fc")
    _one_line_error(result, "--out", "cannot create the folder", "runs")
    assert (tmp_path / "runs").read_text(encoding="utf-8") == "not a folder\n"


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder nobody can create files in, root included (``chattr +i``), or ``chmod 555`` when not root."""
    folder = tmp_path / "readonly"
    folder.mkdir()
    if os.geteuid() != 0:
        os.chmod(folder, 0o555)
        yield folder
        os.chmod(folder, 0o755)
        return
    if shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: no way to make a folder read-only for root")
    made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"chattr +i is not supported here: {made.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=False)


@pytest.mark.parametrize("command", ["run", "forecast", "compare"])
def test_a_read_only_parent_fails_before_the_simulation(runner, read_only_folder, monkeypatch, command):
    _no_simulation(monkeypatch)
    monkeypatch.setattr("labelsim.cli.forecast", lambda *a, **k: pytest.fail("forecast started"))
    monkeypatch.setattr("labelsim.cli.compare", lambda *a, **k: pytest.fail("compare started"))
    extra = ["--set", "account.balance=500"] if command == "compare" else []
    result = invoke(runner, command, QUICKSTART, *extra, "--seed", 1, "--out", read_only_folder / "out")
    _one_line_error(result, f"--out {read_only_folder / 'out'}", "cannot write in")
    assert list(read_only_folder.iterdir()) == []


def test_a_read_only_grandparent_fails_before_the_simulation(runner, read_only_folder, monkeypatch):
    _no_simulation(monkeypatch)
    result = invoke(runner, "run", QUICKSTART, "--seed", 1, "--out", read_only_folder / "runs" / "fc")
    _one_line_error(result, "cannot create the folder")
    assert list(read_only_folder.iterdir()) == []


# --------------------------------------------------------------------------- killed in the middle


_CHILD = textwrap.dedent("""
    import os, signal, sys, time
    from pathlib import Path
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from labelsim import output
    from labelsim.output import write_folder

    target, ready, where = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]

    def block() -> None:
        ready.write_text(str(os.getpid()))
        time.sleep(120)

    def slow(path: Path) -> None:
        path.write_bytes(b"x" * 1_000_000)
        block()

    writers = {f"part{i:03d}.bin": (lambda p: p.write_bytes(b"y" * 200_000)) for i in range(40)}
    if where == "writing":
        writers["zz-slow.bin"] = slow
    else:  # between the two renames of the swap (the path taken where RENAME_EXCHANGE is missing)
        output._exchange = lambda a, b: False
        real_replace = os.replace
        def replace(src, dst):
            real_replace(src, dst)
            if Path(dst).name == "previous":
                block()
        output.os.replace = replace
    write_folder(target, writers, force=True)
""")


def _start_child(tmp_path: Path, target: Path, where: str) -> tuple[subprocess.Popen, Path]:
    ready = tmp_path / "ready"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(target), str(ready), where],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120  # a guard against a hang, not a timing assertion
    while not ready.exists():
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"the writer never reached the point to interrupt: {child.communicate()[1][-2000:]!r}")
        time.sleep(0.02)
    return child, ready


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_a_run_killed_while_writing_leaves_the_old_folder_and_nothing_that_trips_a_later_run(tmp_path, sig):
    work = tmp_path / "work"
    work.mkdir()
    target = work / "big"
    write_folder(target, _writers("previous"))
    before = _snapshot(target)
    child, _ = _start_child(tmp_path, target, "writing")
    staging = [p for p in _hidden(work) if ".labelsim-tmp-" in p]
    assert staging, "the child is writing into a staging folder"
    child.send_signal(sig)
    _, stderr = child.communicate(timeout=120)
    assert child.returncode != 0
    assert _snapshot(target) == before, "the previous output is untouched"
    if sig == signal.SIGINT:
        assert b"KeyboardInterrupt" in stderr
        assert sorted(p.name for p in work.iterdir()) == ["big"], "Ctrl-C removes the staging folder"
    # a later run is not disturbed, and removes what a killed run left (its process is gone)
    write_folder(target, _writers("later"), force=True)
    assert (target / "f0.txt").read_text(encoding="utf-8") == "later 0\n"
    assert sorted(p.name for p in work.iterdir()) == ["big"]


def test_a_run_killed_in_the_middle_of_a_two_rename_swap_leaves_nothing_a_later_run_trips_on(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    target = work / "big"
    write_folder(target, _writers("previous"))
    child, _ = _start_child(tmp_path, target, "swapping")
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=120)
    # the worst moment: the old folder is set aside, the new one not yet in place
    assert not target.exists()
    write_folder(target, _writers("later"))
    assert (target / "f1.txt").read_text(encoding="utf-8") == "later 1\n"
    assert sorted(p.name for p in work.iterdir()) == ["big"]


def test_stale_staging_is_removed_only_when_provably_stale(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    dead_pid = int(dead.stdout)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        host = output._HOST_TAG
        other_host = "0" * 8 if host != "0" * 8 else "1" * 8
        names = {
            "dead": f".run.labelsim-tmp-{host}-{dead_pid}-abc",
            "dead-old": f".run.labelsim-old-{host}-{dead_pid}-abc",
            "alive": f".run.labelsim-tmp-{host}-{alive.pid}-abc",
            "other-host": f".run.labelsim-tmp-{other_host}-{dead_pid}-abc",
            "user": ".run.backup",
            "probe": f".run.labelsim-probe-{host}-{dead_pid}-abc",
        }
        for key, name in names.items():
            if key == "probe":
                (tmp_path / name).write_text("", encoding="utf-8")
                continue
            (tmp_path / name).mkdir()
            (tmp_path / name / "file.csv").write_text("x\n", encoding="utf-8")
        removed = clean_stale_staging(tmp_path)
        assert sorted(p.name for p in removed) == sorted([names["dead"], names["dead-old"], names["probe"]])
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            [names["alive"], names["other-host"], names["user"]]
        )
    finally:
        alive.kill()
        alive.wait()
