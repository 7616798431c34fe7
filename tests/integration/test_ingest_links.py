"""Ingest and the inbox do not follow links out of the tree they were given: a link standing for /etc/shadow
is skipped with a reason, never read, and nothing of it reaches landing.rejected or `rejected export`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from connectors.ingest import ingest_paths, list_inputs
from orchestration.inbox import links_in, pending_files
from orchestration.warehouse.database import connect

SECRET = b"root:$6$PLANTEDSHADOWHASH$abcdef:19000:0:99999:7:::\n"


def message(n: int) -> bytes:
    return (f"MSH|^~\\&|LINKS|WARD|WARDFLOW|H1|20261101090000+0800||ADT^A01^ADT_A01|LNK-{n}|P|2.5\r"
            f"PID|1||LNKMRN{n}^^^HIS&1.2.156.112604.1.2.1&ISO^MR||Test^Link||19700101|F\r").encode()


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """A folder with one message, an in-tree link to it, and links leaving the tree (file, folder, nothing)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "shadow").write_bytes(SECRET)
    root = tmp_path / "drop"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.hl7").write_bytes(message(1))
    (root / "alias.hl7").symlink_to(root / "sub" / "a.hl7")
    (root / "shadow").symlink_to(outside / "shadow")
    (root / "sub" / "up").symlink_to(Path("..") / ".." / "outside" / "shadow")
    (root / "outdir").symlink_to(outside, target_is_directory=True)
    (root / "dangling").symlink_to(tmp_path / "nowhere")
    os.mkfifo(root / "pipe")
    return root, outside


def test_links_out_of_the_tree_are_skipped_with_reasons(tree):
    root, _ = tree
    files, skipped = list_inputs([root])
    assert sorted(p.relative_to(root).as_posix() for p in files) == ["alias.hl7", "sub/a.hl7"]
    reasons = {s.path.relative_to(root).as_posix(): s.reason for s in skipped}
    assert reasons == {
        "shadow": "symbolic link to a file outside the folder",
        "sub/up": "symbolic link to a file outside the folder",
        "outdir": "link to a folder (not followed)",
        "dangling": "symbolic link to a file outside the folder",
        "pipe": "not a regular file",
    }


def test_without_links_nothing_linked_is_read(tree):
    root, _ = tree
    files, skipped = list_inputs([root], follow_links=False)
    assert [p.relative_to(root).as_posix() for p in files] == ["sub/a.hl7"]
    assert {s.path.name for s in skipped} >= {"alias.hl7", "shadow", "up", "outdir", "dangling"}


def test_ingest_never_lands_the_outside_file(tree, settings, keyring):
    root, _ = tree
    with connect(settings, "pipeline") as conn:
        before = conn.execute("select count(*) from landing.rejected").fetchone()[0]
        report = ingest_paths([root], conn, keyring)
        after = conn.execute("select count(*) from landing.rejected").fetchone()[0]
    assert report.counts.landed == 1 and report.counts.duplicates == 1  # the message and its in-tree alias
    assert report.counts.rejected == 0 and after == before
    assert {s.path.name for s in report.skipped} == {"shadow", "up", "outdir", "dangling", "pipe"}


def test_a_link_swapped_in_after_listing_is_refused(tree, settings, keyring, tmp_path):
    """The inbox opens without following links: a file replaced by a link between listing and reading fails
    to open (ELOOP) and is rejected as unreadable, its target unread."""
    root, outside = tree
    target = root / "sub" / "a.hl7"
    target.unlink()
    target.symlink_to(outside / "shadow")
    with connect(settings, "pipeline") as conn:
        from connectors.ingest import _ingest_one
        from connectors.landing import Lander

        lander = Lander(conn, keyring, source_kind="file")
        outcome = _ingest_one(target, lander, 2000, "lenient", 1 << 20, follow_links=False)
        lander.flush()
    assert outcome.format == "unreadable" and outcome.rejected == 1


def test_the_inbox_lists_no_link_and_moves_links_aside(tree):
    root, _ = tree
    pending = {p.relative_to(root).as_posix() for p in pending_files(root)}
    assert pending == {"sub/a.hl7"}
    assert {p.name for p in links_in(root)} == {"alias.hl7", "shadow", "up", "outdir", "dangling"}


def test_the_inbox_asset_does_not_copy_the_outside_file(settings, wardflow_env, initialised):
    """The whole landing asset over an inbox holding only a link to a secret: nothing read, the link moved."""
    import dagster as dg

    from orchestration.assets.landing import landing_inbox
    from orchestration.inbox import inbox_dir
    from orchestration.resources import WardflowWarehouse

    inbox = inbox_dir(settings)
    inbox.mkdir(parents=True, exist_ok=True)
    secret = inbox.parent / "shadow-standin"
    secret.write_bytes(SECRET)
    (inbox / "dropped.hl7").symlink_to(secret)
    with connect(settings, "pipeline") as conn:
        before = conn.execute("select count(*) from landing.rejected").fetchone()[0]
    result = dg.materialize([landing_inbox], resources={"warehouse": WardflowWarehouse()})
    with connect(settings, "pipeline") as conn:
        after = conn.execute("select count(*) from landing.rejected").fetchone()[0]
    assert result.success and after == before
    assert not (inbox / "dropped.hl7").is_symlink() and (inbox / "rejected" / "dropped.hl7").is_symlink()
