"""_files.write_file: written as open(path, "wb") would, but atomically for regular files."""

from __future__ import annotations

import errno
import io
import os
import stat
import sys
import tempfile
import threading
import tracemalloc
from pathlib import Path
from typing import Any, Callable, Iterator, List

import pytest

import pte_encoder as pe
from pte_encoder.formats.common.output import write_file

from helpers import CORPUS, ROOT

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
CHUNKS = [b"hello ", memoryview(b"wide world")[5:], bytearray(b"!\n")]
DATA = b"hello world!\n"


def leftovers(folder: Path) -> List[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def umask() -> Iterator[Callable[[int], None]]:
    """Set the umask for one test; the old one comes back after it."""
    old = os.umask(0o022)

    def set_umask(value: int) -> None:
        os.umask(value)
    yield set_umask
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# --- Modes ----------------------------------------------------------------

@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002, 0o000, 0o027, 0o266])
def test_a_new_file_gets_the_mode_open_gives(mask: int, umask: Callable[[int], None],
                                            tmp_path: Path) -> None:
    umask(mask)
    with open(tmp_path / "by-open", "wb"):
        pass
    assert write_file(tmp_path / "by-us", CHUNKS) == len(DATA)
    assert (tmp_path / "by-us").read_bytes() == DATA
    assert mode(tmp_path / "by-us") == mode(tmp_path / "by-open") == 0o666 & ~mask


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_write_program_new_file_mode(mask: int, umask: Callable[[int], None], tmp_path: Path) -> None:
    umask(mask)
    pe.write_program(pe.Program(), tmp_path / "p.pte")
    assert mode(tmp_path / "p.pte") == 0o666 & ~mask


@pytest.mark.parametrize("old_mode", [0o600, 0o640, 0o644, 0o755, 0o700, 0o604, 0o2750])
def test_a_replaced_file_keeps_its_mode(old_mode: int, umask: Callable[[int], None],
                                        tmp_path: Path) -> None:
    umask(0o077)
    target = tmp_path / "out.pte"
    target.write_bytes(b"old")
    os.chmod(target, old_mode)
    write_file(target, CHUNKS)
    assert target.read_bytes() == DATA
    assert mode(target) == old_mode
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(not IS_ROOT, reason="only root may give a file to another owner")
def test_a_replaced_file_keeps_its_owner_and_group(tmp_path: Path) -> None:
    target = tmp_path / "out.pte"
    target.write_bytes(b"old")
    os.chown(target, 65534, 65533)
    os.chmod(target, 0o4750)  # the set-user-ID bit survives the chown too
    write_file(target, CHUNKS)
    status = os.stat(target)
    assert (status.st_uid, status.st_gid, stat.S_IMODE(status.st_mode)) == (65534, 65533, 0o4750)


def test_the_temporary_file_of_a_replacement_is_never_more_open_than_the_old_file(
        tmp_path: Path, umask: Callable[[int], None]) -> None:
    umask(0)
    target = tmp_path / "secret.pte"
    target.write_bytes(b"old")
    os.chmod(target, 0o600)
    modes: List[int] = []

    def chunks() -> Iterator[bytes]:
        (temporary,) = leftovers(tmp_path)
        modes.append(mode(tmp_path / temporary))
        yield DATA
    write_file(target, chunks())
    assert modes == [0o600]


# --- Atomic replacement ---------------------------------------------------

def test_the_old_file_stays_in_place_while_writing(tmp_path: Path) -> None:
    target = tmp_path / "out.pte"
    target.write_bytes(b"old")
    seen: List[bytes] = []

    def chunks() -> Iterator[bytes]:
        yield b"new "
        seen.append(target.read_bytes())
        yield b"bytes"
    assert write_file(target, chunks()) == 9
    assert seen == [b"old"] and target.read_bytes() == b"new bytes"


class Interrupted(Exception):
    pass


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit, Interrupted,
                                   lambda: pe.EncodeError("bad"), lambda: OSError(errno.ENOSPC, "full")])
@pytest.mark.parametrize("existing", [True, False])
def test_an_error_while_producing_chunks_leaves_the_old_file(error: Callable[[], BaseException],
                                                            existing: bool, tmp_path: Path) -> None:
    target = tmp_path / "out.pte"
    if existing:
        target.write_bytes(b"old")

    def chunks() -> Iterator[bytes]:
        yield b"x" * 100_000
        raise error()
    with pytest.raises(BaseException) as caught:
        write_file(target, chunks())
    assert type(caught.value).__name__ == type(error()).__name__
    assert os.listdir(tmp_path) == (["out.pte"] if existing else [])
    if existing:
        assert target.read_bytes() == b"old"


def test_an_os_error_from_the_chunks_keeps_its_own_file_name(tmp_path: Path) -> None:
    def chunks() -> Iterator[bytes]:
        yield (tmp_path / "missing-input").read_bytes()
    with pytest.raises(FileNotFoundError) as caught:
        write_file(tmp_path / "out.pte", chunks())
    assert caught.value.filename == str(tmp_path / "missing-input")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("step", ["fdopen", "fstat", "fchmod", "fsync", "replace"])
def test_a_failing_step_names_the_target_and_removes_the_temporary_file(
        step: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.pte"
    target.write_bytes(b"old")
    real = getattr(os, step)
    calls: List[Any] = []

    def failing(*args: Any, **kwargs: Any) -> Any:
        if not leftovers(tmp_path):  # not the temporary file's step yet
            return real(*args, **kwargs)
        calls.append(args)
        # Raised the way the system does it: about the temporary file.
        (temporary,) = leftovers(tmp_path)
        raise OSError(errno.EIO, os.strerror(errno.EIO), str(tmp_path / temporary),
                      *([str(target)] if step == "replace" else []))
    monkeypatch.setattr(os, step, failing)
    with pytest.raises(OSError) as caught:
        write_file(target, [b"x" * 100_000])
    monkeypatch.setattr(os, step, real)
    assert calls
    assert caught.value.filename == str(target) and caught.value.filename2 is None
    assert str(caught.value) == f"[Errno {errno.EIO}] {os.strerror(errno.EIO)}: {str(target)!r}"
    assert ".tmp" not in str(caught.value)
    assert os.listdir(tmp_path) == ["out.pte"] and target.read_bytes() == b"old"


def test_a_failing_write_removes_the_temporary_file(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.pte"
    target.write_bytes(b"old")
    real_fdopen = os.fdopen
    taken: List[int] = []

    class Full(io.RawIOBase):
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def writable(self) -> bool:
            return True

        def write(self, chunk: Any) -> int:
            if sum(taken) > 150_000:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            taken.append(int(self.inner.write(chunk)))
            return taken[-1]

        def close(self) -> None:
            self.inner.close()
            super().close()
    monkeypatch.setattr(os, "fdopen", lambda fd, mode: io.BufferedWriter(Full(real_fdopen(fd, mode))))
    with pytest.raises(OSError) as caught:
        write_file(target, [b"x" * 100_000] * 3)
    assert str(caught.value) == f"[Errno {errno.ENOSPC}] {os.strerror(errno.ENOSPC)}"
    assert os.listdir(tmp_path) == ["out.pte"] and target.read_bytes() == b"old"


def test_the_data_is_on_disk_before_the_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: List[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    write_file(tmp_path / "out.pte", CHUNKS)
    assert events == ["fsync", "replace"]


def test_concurrent_writers_to_one_path_never_mix(tmp_path: Path) -> None:
    target = tmp_path / "out.pte"
    blobs = [bytes([i]) * 300_000 for i in range(8)]
    threads = [threading.Thread(target=write_file, args=(target, [blob[:1000], blob[1000:]]))
               for blob in blobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert target.read_bytes() in blobs
    assert os.listdir(tmp_path) == ["out.pte"]


def test_a_hard_linked_file_is_replaced_by_a_new_file(tmp_path: Path) -> None:
    # Documented: atomic replacement gives the name a new inode.
    target = tmp_path / "out.pte"
    target.write_bytes(b"old")
    os.link(target, tmp_path / "other-name")
    write_file(target, CHUNKS)
    assert target.read_bytes() == DATA and (tmp_path / "other-name").read_bytes() == b"old"


# --- Special targets ------------------------------------------------------

def read_fifo(path: Path, into: List[bytes]) -> threading.Thread:
    def reader() -> None:
        with open(path, "rb") as fifo:
            into.append(fifo.read())
    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("through_link", [False, True])
def test_a_fifo_is_written_through(through_link: bool, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    target = fifo
    if through_link:
        target = tmp_path / "link"
        target.symlink_to("fifo")
    received: List[bytes] = []
    thread = read_fifo(fifo, received)
    big = b"z" * 1_000_000  # more than a pipe holds
    assert write_file(target, [DATA, memoryview(big)]) == len(DATA) + len(big)
    thread.join(10)
    assert received == [DATA + big]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert os.path.islink(target) == through_link
    assert sorted(os.listdir(tmp_path)) == sorted({"fifo", target.name})


def make_null_device(path: Path) -> None:
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, AttributeError):
        pytest.skip("cannot make a device node here")


@pytest.mark.parametrize("through_link", [False, True])
def test_a_character_device_is_written_through(through_link: bool, tmp_path: Path) -> None:
    # Our own null device, never /dev/null: a broken writer would replace it.
    device = tmp_path / "null"
    make_null_device(device)
    target = device
    if through_link:
        target = tmp_path / "link"
        target.symlink_to(device)
    assert write_file(target, CHUNKS) == len(DATA)
    assert stat.S_ISCHR(os.lstat(device).st_mode)
    assert os.path.islink(target) == through_link
    assert leftovers(tmp_path) == []


WRITE_TO_STDOUT = ("import sys; from pte_encoder.formats.common.output import write_file; "
                   "print(write_file(sys.argv[1], [b'pte bytes']), file=sys.stderr)")


@pytest.mark.parametrize("stdout_is", ["pipe", "file"])
# Never /dev/stdout itself, nor /dev/null: a broken writer would replace them
# for every process on the machine. A link of ours to /dev/stdout, and names
# whose folder is in /proc, where nothing can be created, are safe.
@pytest.mark.parametrize("name", ["/dev/fd/1", "/proc/self/fd/1", "link"])
def test_dev_stdout_is_written_through(stdout_is: str, name: str, tmp_path: Path) -> None:
    import subprocess
    if name == "link":
        name = str(tmp_path / "link")
        os.symlink("/dev/stdout", name)
    out = tmp_path / "redirected"
    with open(out, "wb") as redirected:
        result = subprocess.run([sys.executable, "-c", WRITE_TO_STDOUT, name],
                                stdout=subprocess.PIPE if stdout_is == "pipe" else redirected,
                                stderr=subprocess.PIPE)
    assert result.returncode == 0, result.stderr
    assert result.stderr == b"9\n"
    assert (result.stdout if stdout_is == "pipe" else out.read_bytes()) == b"pte bytes"
    assert os.path.islink("/dev/stdout")
    assert leftovers(tmp_path) == [] and leftovers(Path("/dev")) == []


def test_a_link_that_changes_while_resolved_is_written_through(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As if the link were changed between open()'s look and ours: the file our
    # reading of the link names is not the one open() reached. Writing
    # through goes where open() goes, and the other file is left alone.
    (tmp_path / "reached").write_bytes(b"old")
    (tmp_path / "other").write_bytes(b"other")
    (tmp_path / "link").symlink_to("reached")
    real_readlink = os.readlink
    monkeypatch.setattr(os, "readlink", lambda path: "other")
    write_file(tmp_path / "link", CHUNKS)
    monkeypatch.setattr(os, "readlink", real_readlink)
    assert (tmp_path / "reached").read_bytes() == DATA
    assert (tmp_path / "other").read_bytes() == b"other"
    assert os.readlink(tmp_path / "link") == "reached" and leftovers(tmp_path) == []


def test_a_link_to_a_regular_file_elsewhere_replaces_that_file(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "links").mkdir()
    real = tmp_path / "real" / "model.pte"
    real.write_bytes(b"old")
    os.chmod(real, 0o640)
    (tmp_path / "links" / "hop").symlink_to("../real/model.pte")
    (tmp_path / "links" / "link").symlink_to("hop")
    assert write_file(tmp_path / "links" / "link", CHUNKS) == len(DATA)
    assert real.read_bytes() == DATA and mode(real) == 0o640
    assert os.readlink(tmp_path / "links" / "link") == "hop"
    assert os.readlink(tmp_path / "links" / "hop") == "../real/model.pte"
    assert os.listdir(tmp_path / "real") == ["model.pte"]
    assert sorted(os.listdir(tmp_path / "links")) == ["hop", "link"]


def test_a_link_with_dotdot_through_a_linked_folder_goes_where_open_goes(tmp_path: Path) -> None:
    # links/folder -> deep/er; links/folder/x -> ../file: the kernel resolves
    # ".." from deep/er, not from links.
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "links").mkdir()
    (tmp_path / "links" / "folder").symlink_to(tmp_path / "deep" / "er")
    (tmp_path / "deep" / "er" / "x").symlink_to("../file")
    (tmp_path / "deep" / "file").write_bytes(b"old")
    write_file(tmp_path / "links" / "folder" / "x", CHUNKS)
    assert (tmp_path / "deep" / "file").read_bytes() == DATA
    assert not (tmp_path / "file").exists()
    assert os.path.islink(tmp_path / "deep" / "er" / "x")


def test_a_dangling_link_creates_the_file_it_names(tmp_path: Path, umask: Callable[[int], None]) -> None:
    umask(0o027)
    (tmp_path / "link").symlink_to("new.pte")
    with open(tmp_path / "link", "wb"):  # what open does
        pass
    assert (tmp_path / "new.pte").exists()
    (tmp_path / "new.pte").unlink()
    assert write_file(tmp_path / "link", CHUNKS) == len(DATA)
    assert (tmp_path / "new.pte").read_bytes() == DATA and mode(tmp_path / "new.pte") == 0o640
    assert os.path.islink(tmp_path / "link")


def test_a_dangling_link_into_a_missing_folder_names_the_users_path(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to("missing/new.pte")
    with pytest.raises(FileNotFoundError) as caught:
        write_file(tmp_path / "link", CHUNKS)
    assert caught.value.filename == str(tmp_path / "link")
    assert os.listdir(tmp_path) == ["link"]


def test_a_symlink_loop_is_an_error_naming_the_path(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(OSError) as caught:
        write_file(tmp_path / "a", CHUNKS)
    assert caught.value.errno == errno.ELOOP and caught.value.filename == str(tmp_path / "a")
    with pytest.raises(OSError) as by_open:
        open(tmp_path / "a", "wb")
    assert by_open.value.errno == errno.ELOOP
    assert sorted(os.listdir(tmp_path)) == ["a", "b"]


@pytest.mark.parametrize("name", ["folder", "link-to-folder", "folder/"])
def test_a_directory_is_a_clean_error_naming_the_path(name: str, tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "link-to-folder").symlink_to("folder")
    target = os.path.join(tmp_path, name)
    with pytest.raises(IsADirectoryError) as caught:
        write_file(target, CHUNKS)
    assert caught.value.filename == target
    assert str(caught.value) == f"[Errno {errno.EISDIR}] Is a directory: {target!r}"
    assert os.listdir(tmp_path / "folder") == [] and leftovers(tmp_path) == []


def test_the_target_folder_may_be_a_link(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real")
    write_file(tmp_path / "link" / "out.pte", CHUNKS)
    assert (tmp_path / "real" / "out.pte").read_bytes() == DATA
    assert os.path.islink(tmp_path / "link") and os.listdir(tmp_path / "real") == ["out.pte"]


# --- Paths ----------------------------------------------------------------

@pytest.mark.parametrize("name", ["plain.pte", "modèle-模型 ✓.pte", " spaces .pte", "-dash.pte",
                                  ".hidden", "new\nline.pte"])
@pytest.mark.parametrize("kind", [str, Path, os.fsencode])
def test_paths_of_every_kind(name: str, kind: Callable[[str], Any], tmp_path: Path) -> None:
    target = kind(os.path.join(tmp_path, name))
    assert write_file(target, CHUNKS) == len(DATA)
    assert os.listdir(tmp_path) == [name] and (tmp_path / name).read_bytes() == DATA
    assert write_file(target, [b"again"]) == 5 and os.listdir(tmp_path) == [name]


def test_a_bytes_path_that_is_not_utf8(tmp_path: Path) -> None:
    target = os.fsencode(tmp_path) + b"/\xff\xfe.pte"
    write_file(target, CHUNKS)
    assert os.listdir(os.fsencode(tmp_path)) == [b"\xff\xfe.pte"]
    with pytest.raises(IsADirectoryError) as caught:
        write_file(os.fsencode(tmp_path), CHUNKS)
    assert caught.value.filename == os.fsencode(tmp_path)  # the user's own bytes


def test_relative_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    write_file("here.pte", CHUNKS)
    write_file(Path("sub") / ".." / "sub" / "there.pte", CHUNKS)
    os.symlink("here.pte", "link")
    write_file("link", [b"via link"])
    assert (tmp_path / "here.pte").read_bytes() == b"via link"
    assert (tmp_path / "sub" / "there.pte").read_bytes() == DATA
    assert sorted(os.listdir(tmp_path)) == ["here.pte", "link", "sub"]


@pytest.mark.parametrize("target, error", [
    ("", FileNotFoundError), ("missing/out.pte", FileNotFoundError),
    ("a-file/out.pte", NotADirectoryError), ("new.pte/", IsADirectoryError)])
def test_bad_paths_fail_as_open_fails(target: str, error: type, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_bytes(b"old")
    with pytest.raises(error):
        open(target, "wb")
    with pytest.raises(OSError) as caught:
        write_file(target, CHUNKS)
    assert isinstance(caught.value, (error, NotADirectoryError, FileNotFoundError))
    assert caught.value.filename == target and ".tmp" not in str(caught.value)
    assert os.listdir(tmp_path) == ["a-file"] and (tmp_path / "a-file").read_bytes() == b"old"


@pytest.mark.parametrize("target", ["a\0b", b"a\0b", Path("x") / "a\0b"])
def test_a_path_with_nul_is_refused(target: Any, tmp_path: Path) -> None:
    with pytest.raises(pe.EncodeError, match=r"^file: expected a path without NUL characters, got "):
        write_file(target, CHUNKS)


@pytest.mark.parametrize("target", [3, None, 1.5, io.StringIO(), sys.stdout, object()])
def test_a_target_that_is_neither_path_nor_binary_file_is_refused(target: Any) -> None:
    with pytest.raises(pe.EncodeError, match=r"^file: expected a path or a binary file object "
                                             r"open for writing, got "):
        write_file(target, CHUNKS)
    with pytest.raises(pe.EncodeError, match=r"^file: "):
        pe.write_program(pe.Program(), target)


def test_a_temporary_prefix_of_ones_own(tmp_path: Path) -> None:
    names: List[str] = []

    def chunks() -> Iterator[bytes]:
        names.extend(os.listdir(tmp_path))
        yield DATA
    write_file(tmp_path / "data.ptd", chunks(), temporary_prefix=".ptd-")
    (name,) = names
    assert name.startswith(".ptd-") and name.endswith(".tmp")


# --- File objects ---------------------------------------------------------

class ShortWriter(io.RawIOBase):
    """A raw stream taking at most ``most`` bytes per write, as pipes and sockets may."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.data = bytearray()
        self.calls = 0

    def writable(self) -> bool:
        return True

    def write(self, chunk: Any) -> int:
        self.calls += 1
        taken = bytes(memoryview(chunk)[:self.most])
        self.data += taken
        return len(taken)


@pytest.mark.parametrize("most", [1, 7, 4096])
def test_short_writes_are_retried(most: int) -> None:
    sink = ShortWriter(most)
    assert write_file(sink, CHUNKS) == len(DATA)
    assert bytes(sink.data) == DATA


def test_write_program_to_a_short_writing_stream_returns_what_was_stored() -> None:
    program = pe.program_from_json((CORPUS / "mlp" / "program.json").read_text())
    expected = pe.encode_program(program)
    sink = ShortWriter(1000)
    assert pe.write_program(program, sink) == len(expected)
    assert bytes(sink.data) == expected


class Returning(io.RawIOBase):
    def __init__(self, *results: Any) -> None:
        self.results = list(results)
        self.calls = 0

    def writable(self) -> bool:
        return True

    def write(self, chunk: Any) -> Any:
        self.calls += 1
        if self.calls > 10_000:
            raise AssertionError("write() called forever")
        return self.results.pop(0) if len(self.results) > 1 else self.results[0]


def test_a_stream_that_takes_nothing_forever_raises() -> None:
    sink = Returning(5, 0)
    with pytest.raises(OSError, match=r"^write\(\) took 0 bytes 64 times in a row, after 5 bytes "
                                      r"were written$"):
        write_file(sink, [b"0123456789"])
    assert sink.calls == 65


def test_a_stream_that_takes_nothing_now_and_then_is_fine() -> None:
    sink = Returning(0, 0, 3, 0, 7)
    assert write_file(sink, [b"0123456789"]) == 10


def test_a_non_blocking_raw_stream_that_is_not_ready_raises() -> None:
    sink = Returning(4, None)
    with pytest.raises(BlockingIOError) as caught:
        write_file(sink, [b"0123456789"])
    assert caught.value.characters_written == 4
    assert "non-blocking" in str(caught.value)


def test_a_non_blocking_raw_stream_not_ready_at_once_raises() -> None:
    with pytest.raises(BlockingIOError) as caught:
        write_file(Returning(None), [b"ab", b"0123456789"])
    assert caught.value.characters_written == 0


def test_a_non_blocking_pipe_that_is_full_raises() -> None:
    read_end, write_end = os.pipe()
    try:
        os.set_blocking(write_end, False)
        with open(write_end, "wb", buffering=0, closefd=False) as raw:
            with pytest.raises(BlockingIOError) as caught:
                write_file(raw, [b"x" * 10_000_000])
        # What the pipe took, and not a byte more, is reported written.
        taken = caught.value.characters_written
        assert 0 < taken < 10_000_000
        os.set_blocking(read_end, False)
        assert len(os.read(read_end, 20_000_000)) == taken
    finally:
        os.close(read_end)
        os.close(write_end)


def test_an_os_pipe_gets_everything() -> None:
    read_end, write_end = os.pipe()
    received: List[bytes] = []

    def reader() -> None:
        with open(read_end, "rb") as pipe:
            received.append(pipe.read())
    thread = threading.Thread(target=reader)
    thread.start()
    big = bytes(range(256)) * 20_000
    with open(write_end, "wb", buffering=0) as raw:
        assert write_file(raw, [memoryview(big), DATA]) == len(big) + len(DATA)
    thread.join(10)
    assert received == [big + DATA]


@pytest.mark.parametrize("result", [11, -1, "10", 2.0])
def test_a_stream_returning_nonsense_raises(result: Any) -> None:
    with pytest.raises(OSError, match=r"^write\(\) returned .*, expected a byte count between 0 "
                                      r"and 10, after 0 bytes were written$"):
        write_file(Returning(result), [b"0123456789"])


def test_a_plain_sink_returning_none_is_taken_as_all_written() -> None:
    class Sink:
        def __init__(self) -> None:
            self.parts: List[bytes] = []

        def write(self, chunk: Any) -> None:
            self.parts.append(bytes(chunk))
    sink = Sink()
    assert write_file(sink, CHUNKS) == len(DATA) and b"".join(sink.parts) == DATA


def test_buffered_and_bytes_io_streams() -> None:
    stream = io.BytesIO()
    assert write_file(stream, CHUNKS) == len(DATA) and stream.getvalue() == DATA
    inner = ShortWriter(3)
    with io.BufferedWriter(inner, buffer_size=4) as buffered:
        assert write_file(buffered, CHUNKS) == len(DATA)
        buffered.flush()
        assert bytes(inner.data) == DATA


def test_non_byte_formats_are_counted_in_bytes() -> None:
    import array
    floats = array.array("d", [1.0, 2.0, 3.0])
    sink = ShortWriter(5)
    assert write_file(sink, [floats, memoryview(floats)]) == 48
    assert bytes(sink.data) == floats.tobytes() * 2


def test_empty_chunks_are_not_written() -> None:
    sink = Returning(0)
    assert write_file(sink, [b"", bytearray(), memoryview(b"")]) == 0 and sink.calls == 0


# --- Large chunks ---------------------------------------------------------

def test_large_chunks_go_to_a_stream_as_they_are() -> None:
    big = memoryview(bytearray(64 << 20))
    seen: List[Any] = []

    class Sink(io.RawIOBase):
        def write(self, chunk: Any) -> int:
            seen.append(chunk)
            return memoryview(chunk).nbytes
    assert write_file(Sink(), [b"head", big]) == 4 + (64 << 20)
    assert seen[1] is big


def test_large_chunks_go_to_a_path_without_copies(tmp_path: Path) -> None:
    big = memoryview(bytearray(b"\x07") * (64 << 20))
    tracemalloc.start()
    try:
        write_file(tmp_path / "big.pte", [b"head", big, b"tail"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20
    assert os.path.getsize(tmp_path / "big.pte") == 8 + (64 << 20)


# --- Permissions, as a user who is not root ------------------------------

def as_nobody(action: Callable[[], object]) -> str:
    """Run ``action`` in a child process as user nobody; returns what it
    returned or the error it raised, as text."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            try:
                outcome = f"ok {action()!r}"
            except BaseException as exc:  # noqa: B902 -- reported to the parent
                outcome = f"{type(exc).__name__}: {exc}"
            os.write(write_end, outcome.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with open(read_end, "rb") as pipe:
        outcome = pipe.read().decode()
    os.waitpid(pid, 0)
    return outcome


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder user nobody can reach (pytest's own tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="pte-files-"))
    os.chmod(folder, 0o755)
    yield folder
    import shutil
    shutil.rmtree(folder)


needs_root = pytest.mark.skipif(not IS_ROOT or not hasattr(os, "fork"),
                                reason="needs root to run a child as another user")


@needs_root
def test_an_unwritable_folder_fails_naming_the_target(shared_folder: Path) -> None:
    target = shared_folder / "out.pte"
    outcome = as_nobody(lambda: write_file(target, CHUNKS))
    assert outcome == f"PermissionError: [Errno 13] Permission denied: {str(target)!r}"
    assert os.listdir(shared_folder) == []


@needs_root
def test_a_read_only_file_is_refused_as_open_refuses_it(shared_folder: Path) -> None:
    os.chown(shared_folder, 65534, 65534)
    target = shared_folder / "out.pte"
    target.write_bytes(b"old")
    os.chown(target, 65534, 65534)
    os.chmod(target, 0o444)
    assert as_nobody(lambda: open(target, "wb")).startswith("PermissionError")
    outcome = as_nobody(lambda: write_file(target, CHUNKS))
    assert outcome == f"PermissionError: [Errno 13] Permission denied: {str(target)!r}"
    assert target.read_bytes() == b"old" and os.listdir(shared_folder) == ["out.pte"]


@needs_root
def test_a_user_replaces_own_file_keeping_mode_and_group(shared_folder: Path) -> None:
    os.chown(shared_folder, 65534, 65534)
    target = shared_folder / "out.pte"
    target.write_bytes(b"old")
    os.chown(target, 65534, 65534)
    os.chmod(target, 0o640)
    assert as_nobody(lambda: write_file(target, CHUNKS)) == f"ok {len(DATA)}"
    status = os.stat(target)
    assert (status.st_uid, status.st_gid, stat.S_IMODE(status.st_mode)) == (65534, 65534, 0o640)
    assert target.read_bytes() == DATA


@needs_root
def test_a_user_replacing_a_file_of_another_owner_keeps_the_mode(shared_folder: Path) -> None:
    # Group-writable file of root's in nobody's folder: nobody may replace it,
    # may not give the new file to root, and keeps the mode.
    os.chown(shared_folder, 65534, 65534)
    target = shared_folder / "out.pte"
    target.write_bytes(b"old")
    os.chown(target, 0, 65534)
    os.chmod(target, 0o664)
    assert as_nobody(lambda: write_file(target, CHUNKS)) == f"ok {len(DATA)}"
    status = os.stat(target)
    assert (status.st_uid, stat.S_IMODE(status.st_mode)) == (65534, 0o664)


@needs_root
def test_a_writable_file_in_an_unwritable_folder_is_refused_naming_it(shared_folder: Path) -> None:
    # open() could truncate it in place, but that would not be atomic.
    target = shared_folder / "out.pte"
    target.write_bytes(b"old")
    os.chmod(target, 0o666)
    outcome = as_nobody(lambda: write_file(target, CHUNKS))
    assert outcome == f"PermissionError: [Errno 13] Permission denied: {str(target)!r}"
    assert target.read_bytes() == b"old" and os.listdir(shared_folder) == ["out.pte"]


def protected_symlinks() -> bool:
    try:
        return Path("/proc/sys/fs/protected_symlinks").read_text().strip() == "1"
    except OSError:
        return False


@pytest.mark.skipif(not IS_ROOT or not protected_symlinks(),
                    reason="needs root and the kernel's protected_symlinks on")
def test_a_link_the_kernel_would_not_follow_is_not_followed(shared_folder: Path,
                                                            tmp_path: Path) -> None:
    # Another user's link in a sticky world-writable folder (/tmp): open()
    # refuses to follow it, even as root, so that nobody can make root write
    # over a file of root's. Reading the link ourselves would bypass that.
    os.chmod(shared_folder, 0o1777)
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    link = shared_folder / "link"
    link.symlink_to(victim)
    os.lchown(link, 65534, 65534)
    with pytest.raises(PermissionError):
        open(link, "wb")
    with pytest.raises(PermissionError) as caught:
        write_file(link, CHUNKS)
    assert caught.value.filename == str(link)
    assert victim.read_bytes() == b"precious" and os.listdir(tmp_path) == ["victim"]


def test_unwritable_folder_as_root_via_a_file_in_the_path(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"old")
    with pytest.raises(NotADirectoryError) as caught:
        write_file(tmp_path / "file" / "out.pte", CHUNKS)
    assert caught.value.filename == str(tmp_path / "file" / "out.pte")
    assert os.listdir(tmp_path) == ["file"]



# --- Types ----------------------------------------------------------------

TYPED_USES = '''
import io, pathlib, sys
from typing import IO, BinaryIO
import pte_encoder as pe
from pte_encoder.formats.common.output import write_file

def uses(binary: BinaryIO, stream: IO[bytes]) -> None:
    for target in ("x.pte", b"x.pte", pathlib.Path("x.pte"), io.BytesIO(), binary, stream,
                   io.FileIO("x", "wb"), open("x", "wb"), open("x", "wb", buffering=0),
                   sys.stdout.buffer):
        pe.write_program(pe.Program(), target)
        write_file(target, [b"x", memoryview(b"y"), bytearray(b"z")])
'''
TYPED_MISUSES = ["sys.stdout", "io.StringIO()", "3", 'open("x", "w")', "None"]


def test_the_target_type_takes_paths_and_binary_files_only(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    import subprocess
    misuses = "".join(f"pe.write_program(pe.Program(), {target})\n" for target in TYPED_MISUSES)
    (tmp_path / "uses.py").write_text(TYPED_USES)
    (tmp_path / "misuses.py").write_text("import io, sys\nimport pte_encoder as pe\n" + misuses)
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                             "uses.py", "misuses.py"], cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "MYPYPATH": str(ROOT)})
    lines = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert sorted(int(line.split(":")[1]) for line in lines if line.startswith("misuses.py")) == \
        list(range(3, 3 + len(TYPED_MISUSES))), result.stdout
    assert not [line for line in lines if line.startswith("uses.py")], result.stdout
