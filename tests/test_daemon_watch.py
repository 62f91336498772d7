"""Noticing config file changes: every kind of change is seen, once it has settled, and a file once read is
not reported again."""

from __future__ import annotations

import os

from monitor.daemon.watch import ConfigWatch, signature


def test_an_edit_in_place_counts_once_it_has_stayed_the_same_for_one_more_check(tmp_path):
    path = tmp_path / "monitor.toml"
    path.write_text("a = 1\n")
    watch = ConfigWatch(path)
    assert not watch.settled_change()
    path.write_text("a = 12\n")  # first half of an editor's write
    assert not watch.settled_change()
    path.write_text("a = 123\n")
    assert not watch.settled_change()  # still changing: wait
    assert watch.settled_change()  # unchanged since the last check: reload
    assert watch.settled_change()  # until it is read
    watch.read(signature(path))
    assert not watch.settled_change()


def test_a_change_undone_before_it_settles_is_no_change(tmp_path):
    path = tmp_path / "monitor.toml"
    path.write_text("a = 1\n")
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    watch = ConfigWatch(path)
    path.write_text("a = 22\n")
    assert not watch.settled_change()  # seen once
    path.write_text("a = 1\n")
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))  # back as it was read
    assert not watch.settled_change() and not watch.settled_change()


def test_rename_into_place_symlink_swap_and_removal_are_changes(tmp_path):
    real = tmp_path / "a.toml"
    real.write_text("x = 1\n")
    link = tmp_path / "monitor.toml"
    link.symlink_to(real)
    before = signature(link)
    other = tmp_path / "b.toml"
    other.write_text("x = 1\n")
    os.utime(other, ns=(os.stat(real).st_atime_ns, os.stat(real).st_mtime_ns))
    link.unlink()
    link.symlink_to(other)  # same size and time: only the target differs
    swapped = signature(link)
    assert swapped != before
    staged = tmp_path / "staged.toml"
    staged.write_text("x = 1\n")
    os.utime(staged, ns=(os.stat(other).st_atime_ns, os.stat(other).st_mtime_ns))
    os.replace(staged, other)  # renamed into place: a new inode
    assert signature(link) != swapped
    link.unlink()
    assert signature(link) == ("missing",)
