"""Signed awards: keys, the signature in the bundle, and verify against forged bundles."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from oyren.batch.bundle import manifest_digest
from oyren.batch.signing import Signer, generate_key, load_signer

CID = "tiktokdan-oyren-2024"


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    """The organizer's private key (and key.pem.pub beside it)."""
    path = tmp_path / "keys" / "organizer.pem"
    generate_key(path)
    return path


@pytest.fixture
def awarded(
    cli: Callable[..., Any],
    campaign_file: Path,
    write_jsonl: Callable[..., Path],
    make_record: Callable[..., dict[str, Any]],
    key_file: Path,
    tmp_path: Path,
) -> Path:
    """Two entries (aysel's video 1 leads), awarded and signed; the award's bundle folder."""
    observations = write_jsonl([
        make_record(id=1, username="aysel_teaches", view_count=5000),
        make_record(id=2, username="nigar_learns", view_count=4000),
    ])  # fmt: skip
    assert cli("init", "--campaign", campaign_file).exit_code == 0
    assert cli("ingest", "--campaign", CID, "--observations", observations).exit_code == 0
    out = tmp_path / "bundle"
    result = cli("award", "--campaign", CID, "--out", out, env={"OYREN_SIGNING_KEY": str(key_file)})
    assert result.exit_code == 0, result.output
    return out


def public_key(key_file: Path) -> str:
    return Path(f"{key_file}.pub").read_text().strip()


def forge(bundle: Path, out: Path, cli: Callable[..., Any], *, signer: Signer | None = None,
          keep_results_digest: bool = False) -> Path:  # fmt: skip
    """A consistently forged copy: nigar's counts raised, results rerun, every digest redone."""
    shutil.copytree(bundle, out)
    lines = [orjson.loads(line) for line in (out / "observations.jsonl").read_bytes().splitlines()]
    for record in lines:
        if str(record["id"]) == "2":
            record["view_count"] = 9000
    (out / "observations.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in lines))
    run = cli("run", "--campaign", out / "campaign.toml", "--observations",
              out / "observations.jsonl", "--decisions", out / "decisions.jsonl",
              "--removed", out / "removed.jsonl", "--format", "json")  # fmt: skip
    assert orjson.loads(run.stdout)["winners"]["best_video"]["video_id"] == "2"
    (out / "results.json").write_bytes(run.stdout_bytes)
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    for name in manifest["files"]:
        manifest["files"][name] = hashlib.sha256((out / name).read_bytes()).hexdigest()
    if not keep_results_digest:
        manifest["award"]["results_digest"] = manifest["files"]["results.json"]
    manifest["digest"] = manifest_digest(manifest)
    options = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
    (out / "manifest.json").write_bytes(orjson.dumps(manifest, option=options) + b"\n")
    if signer is None:
        (out / "signature.json").unlink()
    else:
        (out / "signature.json").write_bytes(
            orjson.dumps(signer.sign(manifest["digest"]), option=options) + b"\n"
        )
    return out


def test_signed_award_verifies_against_the_published_key_and_digest(
    cli: Callable[..., Any], awarded: Path, key_file: Path
) -> None:
    digest = orjson.loads((awarded / "manifest.json").read_bytes())["digest"]
    result = cli("verify", awarded, "--expect", digest, "--key", public_key(key_file))
    assert result.exit_code == 0, result.output
    assert f"bundle digest  {digest}  (as expected)" in result.stdout
    signer = load_signer(key_file)
    assert f"valid, by key {signer.public.key_id}, a key you trust" in result.stdout
    # The key's file works as well as its text.
    assert cli("verify", awarded, "--key", f"{key_file}.pub").exit_code == 0


def test_forged_bundle_without_signature_fails_against_the_key(
    cli: Callable[..., Any], awarded: Path, key_file: Path, tmp_path: Path
) -> None:
    forged = forge(awarded, tmp_path / "forged", cli)
    # Every digest holds: without a key or a digest to expect, verify cannot tell...
    alone = cli("verify", forged)
    assert (alone.exit_code, "anyone can make a bundle" in alone.stdout) == (0, True)
    # ...with the published key or digest it can.
    keyed = cli("verify", forged, "--key", public_key(key_file))
    assert keyed.exit_code == 1
    assert "signature.json: missing: the bundle is not signed" in keyed.stdout
    digest = orjson.loads((awarded / "manifest.json").read_bytes())["digest"]
    expected = cli("verify", forged, "--expect", digest)
    assert (expected.exit_code, "this is not the bundle that was published" in expected.stdout) \
        == (1, True)  # fmt: skip


def test_forged_bundle_keeping_the_real_signature_fails(
    cli: Callable[..., Any], awarded: Path, tmp_path: Path
) -> None:
    forged = forge(awarded, tmp_path / "forged", cli, signer=None)
    shutil.copyfile(awarded / "signature.json", forged / "signature.json")
    result = cli("verify", forged)
    assert result.exit_code == 1
    assert "signature.json: signs the bundle" in result.stdout


def test_forged_bundle_signed_with_the_forgers_key_fails_against_the_organizers(
    cli: Callable[..., Any], awarded: Path, key_file: Path, tmp_path: Path
) -> None:
    forger = tmp_path / "forger.pem"
    generate_key(forger)
    forged = forge(awarded, tmp_path / "forged", cli, signer=load_signer(forger))
    result = cli("verify", forged, "--key", public_key(key_file))
    assert result.exit_code == 1
    assert "which is not a key you trust" in result.stdout


def test_manifest_award_digest_must_match_results_beside_it(
    cli: Callable[..., Any], awarded: Path, tmp_path: Path
) -> None:
    forged = forge(awarded, tmp_path / "forged", cli, keep_results_digest=True)
    result = cli("verify", forged)
    assert result.exit_code == 1
    assert "the award's results_digest" in result.stdout


def test_rotated_key_still_verifies_older_awards(
    cli: Callable[..., Any], awarded: Path, key_file: Path, tmp_path: Path
) -> None:
    old = load_signer(key_file).public
    new_file = tmp_path / "keys" / "organizer-2.pem"
    new = generate_key(new_file)
    assert cli("keys", "publish", "--key", f"{new_file}.pub").exit_code == 0
    assert cli("keys", "retire", "--key-id", old.key_id).exit_code == 0
    # The retired key signs no new award...
    refused = cli("award", "--campaign", CID, "--supersede", "--reason", "late removal",
                  env={"OYREN_SIGNING_KEY": str(key_file)})  # fmt: skip
    assert (refused.exit_code, f"signing key {old.key_id} was retired" in refused.stderr) == (
        2, True)  # fmt: skip
    env = {"OYREN_SIGNING_KEY": str(new_file)}
    second = cli("award", "--campaign", CID, "--supersede", "--reason", "late removal",
                 "--out", tmp_path / "second", env=env)  # fmt: skip
    assert second.exit_code == 0, second.output
    both = ("--key", old.text, "--key", new.text)
    assert cli("verify", awarded, *both).exit_code == 0  # the first award, by the old key
    assert cli("verify", tmp_path / "second", *both).exit_code == 0
    assert cli("verify", tmp_path / "second", "--key", old.text).exit_code == 1
    listed = cli("keys", "list").stdout
    assert old.key_id in listed and "retired" in listed and new.key_id in listed


def test_award_without_a_key_is_unsigned_and_says_so(
    cli: Callable[..., Any],
    campaign_file: Path,
    write_jsonl: Callable[..., Path],
    make_record: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    cli("init", "--campaign", campaign_file)
    cli("ingest", "--campaign", CID, "--observations", write_jsonl([make_record()]))
    result = cli("award", "--campaign", CID, "--out", tmp_path / "b")
    assert (result.exit_code, "the award is not signed" in result.stderr) == (0, True)
    assert not (tmp_path / "b" / "signature.json").exists()
    someone = generate_key(tmp_path / "someone.pem")
    assert cli("verify", tmp_path / "b", "--key", someone.text).exit_code == 1


def test_generate_refuses_to_overwrite_and_keeps_the_key_private(
    key_file: Path, cli: Callable[..., Any]
) -> None:
    assert key_file.stat().st_mode & 0o777 == 0o600
    again = cli("keys", "generate", "--out", key_file)
    assert (again.exit_code, "already exists" in again.stderr) == (2, True)


@pytest.mark.parametrize("bad", ["nope", "AAAA", "-----BEGIN PUBLIC KEY-----\nxx\n"])
def test_verify_rejects_a_key_that_is_not_one(
    cli: Callable[..., Any], awarded: Path, bad: str
) -> None:
    result = cli("verify", awarded, "--key", bad)
    assert (result.exit_code, "not" in result.stderr and "public key" in result.stderr) == (2, True)
